"""`coc-intake`: the one command for operators and staff.

Each sub-command is a small function; the heavy lifting lives in the modules they call, so the
daemon, the web page and this command share one code path.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_REVIEW, EXIT_USAGE = 0, 1, 2


def _cmd_schema(args: argparse.Namespace) -> int:
    from intake.model import CertificateRequest

    print(json.dumps(CertificateRequest.model_json_schema(), indent=2))
    return EXIT_OK


def _file_json(path: str, result: Any) -> dict[str, Any]:
    return {
        "file": path,
        "requests": [
            {
                "request": r.request.model_dump(mode="json"),
                "status": r.status,
                "problems": [p.model_dump(mode="json") for p in r.problems],
                "confidence": r.confidence,
                "provenance": {k: v.model_dump(mode="json", exclude_none=True)
                               for k, v in r.provenance.items()},
            }
            for r in result.requests
        ],
        "problems": [p.model_dump(mode="json") for p in result.problems],
    }


def _summary(path: str, result: Any) -> str:
    from intake.validate import mask_ssn

    lines = [f"{path}: {len(result.requests)} request(s)"]
    for p in result.problems:
        lines.append(f"  ! {p.code}: {p.message}")
    for i, r in enumerate(result.requests, 1):
        req = r.request
        name = " ".join(x for x in (req.worker.first_name, req.worker.middle_name,
                                    req.worker.last_name) if x) or "(no name)"
        employer = req.employer.name if req.employer and req.employer.name else "-"
        a = req.assignment
        lines.append(f"  [{i}] {r.status}: {name}, SSN {mask_ssn(req.worker.ssn) or '-'}, "
                     f"{req.request_type or '?'}; employer {employer}; "
                     f"{a.country or '?'} {a.start_date or '?'} to {a.end_date or '?'}")
        for p in r.problems:
            lines.append(f"      - {p.field or 'request'}: {p.code}: {p.message}")
    return "\n".join(lines)


def _cmd_extract(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from intake.isolation import ExtractionPool
    from intake.settings import load_settings
    from parsers.types import Limits

    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"coc-intake extract: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.config)
    limits = Limits(**settings.limits.model_dump())
    # The daemon's pool: one file per core, each in a process of its own with the time and memory
    # limits of `[pipeline]`, so a folder of one-page faxes keeps one single-threaded Tesseract per
    # core busy and a file that kills its reader loses only itself.
    # Fewer files than cores (one long fax): the spare cores read that file's pages side by side.
    workers = min(settings.pipeline.worker_count(), len(paths))
    pool = ExtractionPool(workers, timeout=settings.pipeline.submission_timeout_seconds,
                          memory_mb=settings.pipeline.memory_mb,
                          ocr_threads=max(1, (os.cpu_count() or 1) // workers))
    code = EXIT_OK
    with ThreadPoolExecutor(max_workers=pool.workers) as threads:
        results: Any = threads.map(lambda path: _extract_file(path, limits, pool), paths)
        if len(paths) > 1 and sys.stderr.isatty() and not args.no_progress:
            from intake.progress import bar

            results = bar(results, total=len(paths), unit="file")
        for path, result in zip(paths, results, strict=True):
            if not result.ok:
                code = EXIT_REVIEW
            if args.json:
                print(json.dumps(_file_json(str(path), result), ensure_ascii=False), flush=True)
            else:
                print(_summary(str(path), result), flush=True)
    return code


def _extract_file(path: Path, limits: Any, pool: Any) -> Any:
    """One file's result; a file that cannot be read, is over the size limit or stops its reader
    (time, memory, crash) is a file-level problem naming it.

    The size is checked before reading, so a stray 10 GB file is refused without filling memory.
    """
    from intake.extract import SubmissionResult
    from parsers.types import PartProblem

    name = path.name
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(limits.max_bytes + 1) if size <= limits.max_bytes else b""
    except OSError as exc:
        return SubmissionResult(problems=[PartProblem(
            code="unreadable", part=name, message=f"{name} could not be read ({exc.strerror or type(exc).__name__}).")])
    if size > limits.max_bytes or len(data) > limits.max_bytes:
        return SubmissionResult(problems=[PartProblem(
            code="too_large", part=name,
            message=f"{name} is {max(size, len(data)):,} bytes, over the limit of {limits.max_bytes:,}.")])
    channel = "email" if path.suffix.lower() == ".eml" else "file"
    outcome = pool.extract(data, channel=channel, filename=name, limits=limits)
    if outcome.result is None:
        return SubmissionResult(problems=[PartProblem(code="unreadable", part=name,
                                                      message=f"{name} could not be read: {outcome.reason}.")])
    return outcome.result


def _cmd_run(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.private import private_umask

    private_umask()  # the database, its WAL, sent mail and fax PDFs: 0600 whatever the shell's umask
    from intake.daemon import run
    from intake.settings import load_settings

    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    if args.demo:
        refused = _demo_refused(settings)
        if refused:
            print(f"coc-intake run --demo: {refused}; --demo is for trying the gateway on this machine only",
                  file=sys.stderr)
            return EXIT_USAGE
        settings.trust.flag_unverified = False
        logging.getLogger("intake.cli").warning(
            "demo: unverified senders are answered (the replies stay in %s); never use --demo for real mail",
            settings.mail_sent)
    if settings.web.enabled and settings.web.proxy_problem():
        print(f"coc-intake run: {settings.web.proxy_problem()}", file=sys.stderr)
        return EXIT_USAGE
    if not _keyring_ready(settings, "run"):
        return EXIT_USAGE
    return run(settings)


def _demo_refused(settings: Any) -> str:
    """Why `run --demo` may not answer unverified senders here ("" when it may).

    The sender check exists because a reply carries personal data to whatever address a forged mail
    names. The demo turns it off only where no reply can leave the machine and no outside mail comes
    in: no relay (replies are .eml files), no IMAP mailbox, the SMTP listener on a loopback address.
    """
    import ipaddress

    if settings.relay.host:
        return "a relay is configured ([relay] host), so replies would leave this machine"
    if settings.imap.enabled:
        return "an IMAP mailbox is configured ([imap] enabled), so outside mail comes in"
    listener = settings.smtp_listener
    if listener.enabled:
        host = listener.host.strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            return f"the SMTP listener is on {listener.host}, not a loopback address"
    if settings.workers.dispatch != "inprocess":
        return "jobs are dispatched to workers ([workers] dispatch), which would not run as a demo"
    return ""


def _keyring_ready(settings: Any, command: str) -> bool:
    """Load the encryption keyring before serving anything: a missing key is an error at start,
    saying what to configure, not a failure at the first message (SQLite: made on first start)."""
    from intake.crypto import KeyringError, keyring_from_settings

    try:
        keyring_from_settings(settings)
    except KeyringError as exc:
        print(f"coc-intake {command}: {exc}", file=sys.stderr)
        return False
    return True


def _cmd_keys(args: argparse.Namespace) -> int:
    """`coc-intake keys new|list|rotate|reencrypt|retire` (see intake.keys)."""
    from intake import keys, logs
    from intake.settings import load_settings

    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    return keys.main(settings, args.action, kid=args.key, file=args.file, print_only=args.print,
                     batch=args.batch, standby=args.standby)


def _cmd_worker(args: argparse.Namespace) -> int:
    """`coc-intake worker`: run procrastinate jobs (several workers, several machines; see intake.worker)."""
    from pydantic import ValidationError

    from intake import logs
    from intake.private import private_umask
    from intake.settings import load_settings
    from intake.worker import ConfigurationError, run_worker

    private_umask()
    try:
        settings = load_settings(args.config)
        logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
        if settings.workers.dispatch == "procrastinate" and not _keyring_ready(settings, "worker"):
            return EXIT_USAGE
        return run_worker(settings, name=args.name)
    except (ConfigurationError, ValidationError) as exc:
        print(f"coc-intake worker: {exc}", file=sys.stderr)
        return 2


def _cmd_db(args: argparse.Namespace) -> int:
    from intake.store.__main__ import db_command

    return db_command(args.action, args.config)


def _cmd_status(args: argparse.Namespace) -> int:
    from intake.settings import load_settings
    from intake.store import Store

    store = Store.from_settings(load_settings(args.config))
    try:
        if store.needs_upgrade():
            print("the database is not set up yet: run `coc-intake db upgrade` (or `coc-intake run`)")
            return EXIT_REVIEW
        for table, counts in store.counts_by_state().items():
            shown = ", ".join(f"{state} {n}" for state, n in counts.items())
            print(f"{table:12s} {shown}")
        waiting = store.oldest_waiting()
        for item in waiting:
            print(f"oldest waiting {item.what}: #{item.id} {item.state} since "
                  f"{item.since.isoformat(timespec='seconds')}")
        if not waiting:
            print("nothing is waiting")
    finally:
        store.dispose()
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.private import private_umask

    private_umask()
    from intake.settings import load_settings
    from intake.web.server import serve

    settings = load_settings(args.config)
    if args.host:
        settings.web.host = args.host
    if args.port:
        settings.web.port = args.port
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    if settings.web.proxy_problem():
        print(f"coc-intake serve: {settings.web.proxy_problem()}", file=sys.stderr)
        return EXIT_USAGE
    if not _keyring_ready(settings, "serve"):
        return EXIT_USAGE
    return serve(settings)


def _cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from intake.settings import load_settings
    from intake.store import Store
    from intake.web.users import UserError, Users, generate_password

    store = Store.from_settings(load_settings(args.config))
    try:
        store.ensure_schema()
        users = Users(store)
        if args.action == "list":
            for a in users.list():
                print(f"{a.name}\t{a.role}\t{'disabled' if a.disabled else 'active'}")
            _print_tokens(users.tokens(), prefix="token\t")
            return EXIT_OK
        if not args.name:
            print(f"coc-intake users {args.action}: a user name is needed", file=sys.stderr)
            return EXIT_USAGE
        if args.action == "add":
            if args.password_stdin:
                password, shown = sys.stdin.readline().rstrip("\r\n"), False
            elif sys.stdin.isatty() and not args.generate:
                password, shown = getpass.getpass(f"password for {args.name}: "), False
                if password != getpass.getpass("again: "):
                    print("coc-intake users add: the passwords differ", file=sys.stderr)
                    return EXIT_USAGE
            else:
                password, shown = generate_password(), True
            account = users.add(args.name, args.role, password, must_change=shown)
            print(f"user {account.name} added ({account.role})")
            if shown:
                print(f"one-time password: {password}")
        elif args.action in ("disable", "enable"):
            users.set_disabled(args.name, args.action == "disable")
            print(f"user {args.name} {args.action}d")
        elif args.action == "token" and args.name == "list":
            _print_tokens(users.tokens())
        elif args.action == "token" and args.name == "revoke":
            if not args.which:
                print("coc-intake users token revoke: the token's id (see `users token list`) or name is needed",
                      file=sys.stderr)
                return EXIT_USAGE
            for t in users.revoke_token(args.which):
                print(f"API token #{t.id} {t.name} revoked")
        elif args.action == "token":
            token = users.add_token(args.name, expires_days=args.expires_days)
            print(f"API token {args.name.strip()} valid for {args.expires_days} days; it is shown only now:",
                  file=sys.stderr)
            print(token)
        return EXIT_OK
    except UserError as exc:
        print(f"coc-intake users {args.action}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.dispose()


def _print_tokens(tokens: Sequence[Any], prefix: str = "") -> None:
    """One line per API token: id, name, state, expiry and last use (never the token itself)."""

    def day(d: Any) -> str:
        return d.strftime("%Y-%m-%d %H:%M UTC") if d else "never"

    for t in tokens:
        print(f"{prefix}#{t.id}\t{t.name}\t{t.state}\texpires {day(t.expires_at)}\tlast used {day(t.last_used_at)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coc-intake", description=__doc__)
    parser.add_argument("--config", help="a TOML file read over the packaged defaults")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("schema", help="print the JSON Schema of the request model")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("extract", help="read request files and print what was found")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".eml .pdf .tif .tiff .png .jpg .csv .xlsx .txt")
    p.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("run", help="run the gateway: sources, pipeline and outbox")
    p.add_argument("--demo", action="store_true",
                   help="try it on this machine: answer senders that cannot be verified (the sample mails); "
                        "refused when a relay, IMAP or a non-loopback SMTP listener is configured")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("worker", help="run extraction, reply and sending jobs (dispatch = procrastinate)")
    p.add_argument("--name", help="worker name in the logs and the job table (default host:pid)")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("keys", help="encryption keys: new, list, rotate (re-encrypts, gateway running), "
                                    "reencrypt, retire")
    p.add_argument("action", choices=["new", "use", "list", "rotate", "reencrypt", "retire"],
                   help="new: add a current key; use KEY: make a standby key current; rotate: new + reencrypt; "
                        "reencrypt: seal every stored value under the current key (also rows from before "
                        "encryption); retire KEY: drop a key no stored value uses")
    p.add_argument("key", nargs="?", help="the key id to use or retire")
    p.add_argument("--standby", action="store_true",
                   help="new: add the key without making it current (copy the file everywhere, then `keys use`)")
    p.add_argument("--file", help="the key file (default: [encryption] key_file, COC_INTAKE_KEY_FILE, var/keys.json)")
    p.add_argument("--print", action="store_true", help="new: print ID:BASE64 for COC_INTAKE_KEYS, change no file")
    p.add_argument("--batch", type=int, default=50, help="rows per transaction when re-encrypting (default 50)")
    p.set_defaults(func=_cmd_keys)

    p = sub.add_parser("db", help="the database schema")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=_cmd_db)

    p = sub.add_parser("status", help="counts per state and the oldest waiting item")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("form", help="write the current edition of our request form (PDF)")
    p.add_argument("--out", metavar="FILE", help="where to write it (default coc-request-form.pdf)")
    p.set_defaults(func=_cmd_form)

    p = sub.add_parser("serve", help="serve the staff review page and the JSON API only")
    p.add_argument("--host", help="address to listen on (default [web] host)")
    p.add_argument("--port", type=int, help="port to listen on (default [web] port)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("users", help="staff accounts of the review page, and API tokens")
    p.add_argument("action", choices=["add", "list", "disable", "enable", "token"],
                   help="token NAME prints a new API token for the certificate system; token list shows "
                        "them (state, expiry, last use); token revoke ID|NAME revokes one (or all of a name)")
    p.add_argument("name", nargs="?", help="user name (or the API token's name, or list / revoke)")
    p.add_argument("which", nargs="?", help="token revoke: the token's id or name")
    p.add_argument("--expires-days", type=int, default=90, metavar="DAYS",
                   help="token NAME: days the new token is valid (default 90)")
    p.add_argument("--role", choices=["reviewer", "supervisor", "admin"], default="reviewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--generate", action="store_true", help="print a one-time password instead of asking")
    p.set_defaults(func=_cmd_users)

    p = sub.add_parser("doctor", help="check Tesseract, the database, IMAP, the relay, folders and the web port")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("reprocess", help="read stored submissions again with today's parsers")
    p.add_argument("ids", nargs="*", type=int, metavar="SUBMISSION_ID")
    p.add_argument("--state", action="append", metavar="S",
                   help="submissions in this state (done, needs_review, extracted, failed); repeatable")
    p.add_argument("--since", metavar="DATE", help="received on or after this day (YYYY-MM-DD, UTC)")
    p.add_argument("--until", metavar="DATE", help="received on or before this day (YYYY-MM-DD, UTC)")
    p.add_argument("--send-replies", action="store_true",
                   help="queue a new acknowledgement for each (default: none, the first one stands)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_cmd_reprocess)
    return parser


def _cmd_doctor(args: argparse.Namespace) -> int:
    from intake.doctor import doctor
    from intake.settings import load_settings

    try:
        settings = load_settings(args.config)
    except Exception as exc:  # pydantic's message names the setting and never echoes a secret
        print(f"FAIL  settings: {exc}", file=sys.stderr)
        return EXIT_REVIEW
    return doctor(settings)


def _day(value: str | None, *, end: bool) -> Any:
    """A YYYY-MM-DD day as an aware UTC datetime; `end` gives the start of the next day."""
    from datetime import UTC, date, datetime, time, timedelta

    if value is None:
        return None
    day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
    return datetime.combine(day, time(0), tzinfo=UTC)


def _cmd_reprocess(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.reprocess import make_context, reprocess, select_ids
    from intake.settings import load_settings
    from intake.store import Store

    if not (args.ids or args.state or args.since or args.until):
        print("coc-intake reprocess: name submission ids, a --state, or a --since/--until range",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        since, until = _day(args.since, end=False), _day(args.until, end=True)
    except ValueError:
        print("coc-intake reprocess: dates are YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    store = Store.from_settings(settings)
    try:
        if store.needs_upgrade():
            print("coc-intake reprocess: the database schema is not current: run `coc-intake db upgrade`",
                  file=sys.stderr)
            return EXIT_REVIEW
        ids = select_ids(store, args.ids, states=args.state, since=since, until=until)
        if not ids:
            print("no submission matches")
            return EXIT_OK
        show_bar = len(ids) > 1 and sys.stderr.isatty() and not args.no_progress
        summary = reprocess(make_context(settings, store), ids, send_replies=args.send_replies, progress=show_bar)
        return EXIT_REVIEW if summary.failed else EXIT_OK
    finally:
        store.dispose()


def _cmd_form(args: argparse.Namespace) -> int:
    from intake.form import cmd_form  # reportlab and segno only for this command

    return cmd_form(args)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
