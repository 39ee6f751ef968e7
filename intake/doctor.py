"""`coc-intake doctor`: check what the gateway needs before (or while) it runs, and say what to fix.

Each check returns one `Check` line: `ok` or `FAIL`, what was checked and, on failure, what to do.
Checks talk to the real things (Tesseract, the database, the IMAP server, the relay, the folders, the
web port) the way the gateway will, so a green doctor means `coc-intake run` can start. Secrets are
used but never printed: messages name hosts, ports, user names and the server's own reply only.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TextIO

from intake.settings import Settings

OLDEST_TESSERACT = 4  # the LSTM engine the OCR is tuned for


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _scrub(text: str, secrets: list[str]) -> str:
    """A server's reply or an exception text, with any secret we hold cut out (belt and braces)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return " ".join(text.split())[:300]


def _secret(value: object) -> str:
    get = getattr(value, "get_secret_value", None)
    return str(get()) if get else ""


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_tesseract() -> Check:
    """Tesseract is installed, recent enough, and has the English model the OCR uses."""
    try:
        import pytesseract

        version = pytesseract.get_tesseract_version()
        languages = pytesseract.get_languages(config="")
    except Exception as exc:
        return Check(
            "tesseract",
            False,
            f"not usable ({type(exc).__name__}): install it (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)",
        )
    if "eng" not in languages:
        return Check("tesseract", False, f"version {version} has no 'eng' language data: install tesseract-ocr-eng")
    if getattr(version, "major", 5) < OLDEST_TESSERACT:
        return Check("tesseract", False, f"version {version} is too old: version 4 or later is needed")
    return Check("tesseract", True, f"version {version}, languages include eng")


def check_database(settings: Settings) -> Check:
    """The database answers and its schema is at the migration head."""
    from intake.store import Store
    from intake.store.migrate import head_revision

    try:
        store = Store.from_settings(settings)
    except Exception as exc:
        return Check("database", False, f"cannot open the store URL ({type(exc).__name__}): check [store] url")
    where = repr(store)
    try:
        current = store.current_revision()
    except Exception as exc:
        return Check(
            "database",
            False,
            f"{where} unreachable ({type(exc).__name__}): check [store] url, "
            f"that the server runs and the account may log in",
        )
    finally:
        store.dispose()
    head = head_revision()
    if current != head:
        return Check(
            "database",
            False,
            f"{where} schema at {current or 'none'}, this version needs {head}: run `coc-intake db upgrade`",
        )
    return Check("database", True, f"{where} at migration {head}")


def check_imap(settings: Settings) -> Check | None:
    """IMAP login and the polled folder, when IMAP is enabled."""
    imap = settings.imap
    if not imap.enabled:
        return None
    password, token = _secret(imap.password), _secret(imap.oauth2_token)
    where = f"{imap.username or '(no user)'}@{imap.host}:{imap.port} ({imap.security})"
    from imapclient import IMAPClient

    client: IMAPClient | None = None
    try:
        client = IMAPClient(
            imap.host,
            port=imap.port,
            ssl=imap.security == "tls",
            ssl_context=_context(imap.tls_verify) if imap.security == "tls" else None,
            timeout=min(imap.timeout_seconds, 15.0),
        )
        if imap.security == "starttls":
            client.starttls(_context(imap.tls_verify))
        if token:
            client.oauth2_login(imap.username, token)
        elif password:
            client.login(imap.username, password)
        else:
            return Check(
                "imap",
                False,
                f"{where}: no password or OAuth2 token: set [imap] password_file or COC_INTAKE_IMAP__PASSWORD",
            )
        if not client.folder_exists(imap.folder):
            return Check("imap", False, f"{where}: folder {imap.folder!r} does not exist: fix [imap] folder")
        later = ""
        if imap.processed_folder and not client.folder_exists(imap.processed_folder):
            later = f", {imap.processed_folder!r} will be created at start"
        return Check("imap", True, f"{where}: logged in, folder {imap.folder!r} found{later}")
    except Exception as exc:  # socket errors, TLS errors, imaplib's and imapclient's errors
        detail = _scrub(str(exc), [password, token]) or type(exc).__name__
        hint = (
            "check [imap] username and the password"
            if "auth" in detail.lower() or "login" in detail.lower()
            else "check [imap] host, port and security, and that the server is reachable"
        )
        return Check("imap", False, f"{where}: {type(exc).__name__}: {detail}: {hint}")
    finally:
        if client is not None:
            with contextlib.suppress(Exception):  # the check's verdict is already made
                client.logout()


def check_relay(settings: Settings) -> Check | None:
    """Relay connection (and STARTTLS, AUTH) when a relay host is configured."""
    relay = settings.relay
    if not relay.host:
        return None
    password = _secret(relay.password)
    where = f"{relay.host}:{relay.port} ({relay.security})"
    smtp: smtplib.SMTP | None = None
    try:
        timeout = min(relay.timeout_seconds, 15.0)
        if relay.security == "tls":
            smtp = smtplib.SMTP_SSL(relay.host, relay.port, timeout=timeout, context=_context(relay.tls_verify))
        else:
            smtp = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
        smtp.ehlo()
        if relay.security == "starttls":
            smtp.starttls(context=_context(relay.tls_verify))
            smtp.ehlo()
        if relay.username:
            if not password:
                return Check(
                    "relay",
                    False,
                    f"{where}: [relay] username is set but no password: set "
                    f"[relay] password_file or COC_INTAKE_RELAY__PASSWORD",
                )
            smtp.login(relay.username, password)
            return Check("relay", True, f"{where}: connected, logged in as {relay.username}")
        return Check("relay", True, f"{where}: connected (no AUTH configured)")
    except smtplib.SMTPAuthenticationError as exc:
        return Check("relay", False, f"{where}: AUTH refused ({exc.smtp_code}): check [relay] username and password")
    except (OSError, smtplib.SMTPException) as exc:
        detail = _scrub(str(exc), [password]) or type(exc).__name__
        return Check(
            "relay",
            False,
            f"{where}: {type(exc).__name__}: {detail}: check [relay] host, port and "
            f"security, and that the relay accepts connections from this machine",
        )
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):  # the check's verdict is already made
                smtp.quit()


def _writable(path: Path) -> str | None:
    """None if `path` is (or can be made) a folder we can write to, else what is wrong."""
    if path.exists():
        if not path.is_dir():
            return "is not a folder"
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
                pass
        except OSError as exc:
            return f"is not writable ({exc.strerror}): give the service user write access"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"does not exist and {parent} is not writable: create it for the service user"
    return None


def check_folders(settings: Settings) -> list[Check]:
    """The folders the gateway writes: var (database, cache), fax inbox/done/outbox, mail sent."""
    out: list[Check] = []
    folders = {
        "var": settings.paths.var,
        "fax inbox": settings.fax_inbox,
        "fax done": settings.fax_done,
        "fax outbox": settings.fax_outbox,
        "mail sent": settings.mail_sent,
    }
    for name, path in folders.items():
        problem = _writable(path)
        if problem is None:
            state = "writable" if path.exists() else "will be created at start"
            out.append(Check(f"folder {name}", True, f"{path} {state}"))
        else:
            out.append(Check(f"folder {name}", False, f"{path} {problem}"))
    return out


def _ours(host: str, port: int) -> bool:
    """Whether what listens on the port is a coc-intake web page (its /healthz answers ok)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    url = f"http://[{shown}]:{port}/healthz" if ":" in shown else f"http://{shown}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # a local http URL we built
            return bool(resp.status == HTTPStatus.OK and resp.read(16).strip() == b"ok")
    except Exception:
        return False


def check_web_port(settings: Settings) -> Check | None:
    """The web port is free, or taken by a running coc-intake."""
    web = settings.web
    if not web.enabled:
        return None
    where = f"{web.host}:{web.port}"
    family = socket.AF_INET6 if ":" in web.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((web.host, web.port))
            return Check("web port", True, f"{where} is free")
        except OSError as exc:
            if _ours(web.host, web.port):
                return Check("web port", True, f"{where} is served by a running coc-intake")
            return Check(
                "web port", False, f"{where} cannot be used ({exc.strerror}): stop what listens there or set [web] port"
            )


def check_job_queue(settings: Settings) -> Check | None:
    """With procrastinate dispatch: its schema is in the database, and how many workers are alive."""
    if settings.workers.dispatch != "procrastinate":
        return None
    from sqlalchemy import text

    from intake.store.engine import make_engine
    from intake.store.migrate import has_job_schema

    engine = make_engine(settings.store.url)
    try:
        if not has_job_schema(engine):
            return Check("job queue", False, "procrastinate's tables are missing: run `coc-intake db upgrade`")
        with engine.connect() as conn:
            alive = conn.execute(text(
                "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :s)"),
                {"s": settings.workers.stalled_seconds}).scalar()
    except Exception as exc:
        return Check("job queue", False,
                     f"cannot read procrastinate's tables ({type(exc).__name__}): check [store] url")
    finally:
        engine.dispose()
    note = "" if alive else "; start `coc-intake worker` (nothing is extracted without one)"
    return Check("job queue", True, f"procrastinate schema present, {alive} worker(s) alive{note}")


def check_keys(settings: Settings) -> Check:
    """The keyring loads, and the newest stored submission opens with it (a missing or wrong key file
    would otherwise show only at the first message)."""
    from sqlalchemy import text

    from intake.crypto import ENV_KEYS, KeyringError, is_embedded, key_file_path, keyring_from_settings
    from intake.store import Store

    path = key_file_path(settings)
    if not os.environ.get(ENV_KEYS) and is_embedded(settings) and path is not None and not path.exists():
        return Check("keys", True, f"no key file yet: `coc-intake run` makes {path} (mode 0600) on first start")
    try:
        keyring = keyring_from_settings(settings)
    except KeyringError as exc:
        return Check("keys", False, str(exc))
    store = Store(settings.store.url, keyring=keyring)
    try:
        with store.engine.connect() as conn:
            newest = conn.execute(text("SELECT max(id) FROM submissions")).scalar()
        if newest is not None:
            store.get_submission(int(newest))
    except KeyringError as exc:
        return Check("keys", False, f"the newest submission does not open with this keyring ({exc}): "
                                    f"give every machine the same key file")
    except Exception:  # no database or no schema yet: the database check says what to do
        pass
    finally:
        store.dispose()
    return Check("keys", True, f"{len(keyring.key_ids)} key(s), current {keyring.current} ({keyring.where})")


def check_sender_trust(settings: Settings) -> Check | None:
    """Mail read from a mailbox, or handed over by our MTA (`[trust] relays`), is verified only
    through its trusted Authentication-Results."""
    trust = settings.trust
    if not settings.imap.enabled and not trust.relays:
        return None
    if not trust.flag_unverified:
        return Check("sender trust", True, "flag_unverified is off: every sender gets replies with details")
    if not trust.authserv_id:
        return Check("sender trust", False,
                     "no [trust] authserv_id: every mailbox sender (and all mail from [trust] relays) will be held "
                     "for staff as not verified; set it to the authserv-id your mail server writes in "
                     "Authentication-Results")
    return Check("sender trust", True, f"Authentication-Results of {trust.authserv_id!r} are trusted")


def check_fax_out(settings: Settings) -> Check:
    """The chosen fax reply transport works: the HylaFAX server takes our login, the email-to-fax
    gateway has a relay (or replies are only written as files), the folder is writable."""
    out = settings.fax_out
    if out.transport == "hylafax":
        from intake.faxout import HylafaxClient, HylafaxError

        try:
            banner = HylafaxClient(out).greeting()
        except HylafaxError as exc:
            return Check("fax replies", False,
                         f"{_scrub(str(exc), [_secret(out.hylafax_password)])}: start HylaFAX (faxq, hfaxd) or fix "
                         f"[fax_out] hylafax_host/hylafax_port/hylafax_user, and allow this host in hosts.hfaxd")
        return Check("fax replies", True, f"HylaFAX {out.hylafax_host}:{out.hylafax_port} logged in as "
                                          f"{out.hylafax_user} ({_scrub(banner, [])})")
    if out.transport == "email":
        from intake.faxout import fax_address

        if not settings.relay.host:
            return Check("fax replies", False, f"transport \"email\" needs a [relay] host; without one the faxes "
                                               f"are only written to {settings.mail_sent}")
        return Check("fax replies", True, f"mailed through {settings.relay.host}:{settings.relay.port} to "
                                          f"{fax_address(out, '+14105550199')} (for +1 410 555 0199)")
    folder = settings.fax_outbox
    if folder.exists() and not os.access(folder, os.W_OK):
        return Check("fax replies", False, f"cannot write {folder}: fix its owner or mode")
    return Check("fax replies", True, f"PDFs written to {folder} for the fax server to pick up")


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order an operator would fix things."""
    checks: list[Check] = [check_tesseract(), check_database(settings), check_keys(settings)]
    checks.extend(check_folders(settings))
    optional: list[Callable[[Settings], Check | None]] = [check_job_queue, check_imap, check_sender_trust, check_relay,
                                                          check_fax_out, check_web_port]
    for check in optional:
        result = check(settings)
        if result is not None:
            checks.append(result)
    return checks


def doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Print one line per check; 0 when all are ok, 1 otherwise."""
    checks = run_checks(settings)
    for check in checks:
        print(check.line(), file=out, flush=True)
    failed = [c for c in checks if not c.ok]
    if failed:
        print(f"{len(failed)} check(s) failed", file=out)
        return 1
    print("all checks passed", file=out)
    return 0
