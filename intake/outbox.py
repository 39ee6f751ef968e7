"""Delivering what the replies stage queued: SMTP to the relay, or files when there is none.

Sending is the one step that cannot be undone, so the store marks a reply `sending` before it goes
and `sent` after (see `intake.pipeline`); this module only knows how to hand one message over and
how to tell a temporary failure (try again later) from a permanent one (staff must look).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from intake.private import make_private_dir, open_private
from intake.settings import RelaySettings

_REFUSED = 400  # SMTP 4xx and 5xx: the relay did not take the command
_PERMANENT = 500  # 5xx: it never will; 4xx: try again later
_GO_AHEAD = 354  # the answer to DATA: send the message
_OK = 250


@dataclass(frozen=True)
class Delivery:
    ok: bool
    permanent: bool = False
    error: str = ""


def atomic_write(path: Path, data: bytes, before_rename: Callable[[], object] | None = None) -> None:
    """Write then rename, so a fax server or a reader never sees half a file; `before_rename` runs
    when only the rename is left (a fax reply's hand-over mark, as before an SMTP final dot)."""
    make_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(open_private(tmp), "wb") as fh:  # 0600: a reply in clear, whatever the umask
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if before_rename is not None:
        before_rename()
    os.replace(tmp, path)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@+._-]", "_", text)[:120] or "unknown"


def write_eml(folder: Path, outbox_id: int, recipient: str, message: bytes,
              handed_over: Callable[[], object] | None = None) -> Delivery:
    """A reply as an `.eml` file for a pick-up relay (no `[relay] host`), named for its outbox row."""
    atomic_write(folder / f"{outbox_id:08d}-{safe_name(recipient)}.eml", message, handed_over)
    return Delivery(True)


def write_fax(folder: Path, outbox_id: int, fax_number: str, pdf: bytes,
              handed_over: Callable[[], object] | None = None) -> Delivery:
    """The acknowledgement PDF for the fax server, named for the number it goes to."""
    number = re.sub(r"[^\d+]", "", fax_number) or "unknown"
    atomic_write(folder / f"{number}_{outbox_id:08d}.pdf", pdf, handed_over)
    return Delivery(True)


@functools.cache
def tls_context(*, verify: bool) -> ssl.SSLContext:
    """The client TLS context of the relay connections, made once per process: loading the system's
    CA certificates took a fifth of a busy daemon's time when every reply made its own context."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send_smtp(relay: RelaySettings, recipient: str, message: bytes,
              handed_over: Callable[[], object] | None = None) -> Delivery:
    """One message over SMTP with an empty envelope sender (RFC 3834: no bounce loops).

    `handed_over` is called when everything but the final dot is with the relay. The caller commits
    there that the reply counts as sent: a crash between the relay's acceptance and our own commit
    (RFC 1047's duplicate window) then cannot send the reply a second time after a restart.
    """
    return send_smtp_batch(relay, [(recipient, message, handed_over)])[0]


Outgoing = tuple[str, bytes, Callable[[], object] | None]  # recipient, message, `handed_over`


def send_smtp_batch(relay: RelaySettings, batch: Sequence[Outgoing]) -> list[Delivery]:
    """Several messages, one after the other in one SMTP session (a connection, EHLO, TLS and login
    once for the batch, not once per reply); one `Delivery` per message, in order.

    Each message is its own transaction with its own `handed_over` before its final dot, exactly as
    `send_smtp`. A refused message leaves the session usable (RSET); a session that breaks in the
    middle fails that message, and the rest go on in a new session. When no session can be opened
    at all, every message left gets that failure.
    """
    results: list[Delivery] = []
    while len(results) < len(batch):
        opened = False
        try:
            with _session(relay) as smtp:
                opened = True
                for recipient, message, handed_over in batch[len(results):]:
                    # Messages are stored with bare LF; the wire wants CRLF or every line is "too long".
                    delivery = _transaction(smtp, recipient, re.sub(rb"\r?\n", b"\r\n", message), handed_over)
                    results.append(delivery)
                    if not delivery.ok and len(results) < len(batch):
                        smtp.rset()  # the next message starts from a clean transaction
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            left = len(batch) - len(results)
            # A break in the middle fails the message it was in; no session at all, all of them.
            results.extend([_failure(relay, exc)] * min(left, 1 if opened else left))
    return results


def _failure(relay: RelaySettings, exc: BaseException) -> Delivery:
    """What a failed SMTP exchange means for the message: a 5xx is permanent, the rest temporary."""
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        detail = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return Delivery(False, permanent=exc.smtp_code >= _PERMANENT, error=f"{exc.smtp_code} {detail}")
    return Delivery(False, permanent=False, error=f"relay {relay.host}:{relay.port}: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def _session(relay: RelaySettings) -> Iterator[smtplib.SMTP]:
    """An SMTP session with the relay, greeted, secured and logged in as `[relay]` says."""
    context = tls_context(verify=relay.tls_verify) if relay.security in ("tls", "starttls") else None
    smtp: smtplib.SMTP
    if relay.security == "tls":
        smtp = smtplib.SMTP_SSL(relay.host, relay.port, timeout=relay.timeout_seconds, context=context)
    else:
        smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout_seconds)
    with smtp:
        smtp.ehlo()
        if relay.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if relay.username:
            password = relay.password.get_secret_value() if relay.password else ""
            smtp.login(relay.username, password)
        yield smtp


def _transaction(smtp: smtplib.SMTP, recipient: str, message: bytes,
                 handed_over: Callable[[], object] | None) -> Delivery:
    """MAIL, RCPT, DATA by hand, so that the final dot goes out only after `handed_over`."""
    for code, text in (smtp.mail(""), smtp.rcpt(recipient)):
        if code >= _REFUSED:
            return Delivery(False, permanent=code >= _PERMANENT, error=f"{code} {text.decode(errors='replace')}")
    smtp.putcmd("data")
    code, text = smtp.getreply()
    if code != _GO_AHEAD:
        return Delivery(False, permanent=code >= _PERMANENT, error=f"{code} {text.decode(errors='replace')}")
    body = re.sub(rb"(?m)^\.", b"..", message)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body)
    if handed_over is not None:
        try:
            handed_over()
        except BaseException:
            # The store failed to record the hand-over: drop the connection without the dot (the relay
            # discards the message). A polite QUIT here would be read as message text and leave this
            # sender waiting for the relay's timeout.
            smtp.close()
            raise
    smtp.send(b".\r\n")
    code, text = smtp.getreply()
    if code != _OK:
        return Delivery(False, permanent=code >= _PERMANENT, error=f"{code} {text.decode(errors='replace')}")
    return Delivery(True)


class RetrySchedule(Protocol):
    """The back-off settings of a transport (`[relay]` for mail, `[fax_out]` for faxes)."""

    @property
    def retry_for_seconds(self) -> float: ...
    @property
    def first_retry_seconds(self) -> float: ...
    @property
    def max_retry_seconds(self) -> float: ...


def next_attempt(schedule: RetrySchedule, attempts: int, first_queued: datetime, now: datetime) -> datetime | None:
    """When to try again after `attempts` failures, or None when it is time to give up."""
    if (now - first_queued).total_seconds() >= schedule.retry_for_seconds:
        return None
    delay = min(schedule.first_retry_seconds * 2 ** max(0, attempts - 1), schedule.max_retry_seconds)
    return now + timedelta(seconds=delay)
