"""Fax replies transmitted: to a folder, to a HylaFAX+ server, or through a fax service's email-to-fax
gateway (`[fax_out] transport`).

- `folder`: the PDF named for the number, for a fax server that picks files up (as before).
- `hylafax`: a job submitted over HylaFAX's client protocol on port 4559 (what `sendfax` speaks:
  FTP-like, so `ftplib` carries it), its job id kept in the outbox; `follow_fax_jobs` asks the server
  for each job's state (what `faxstat` shows) until it is done. A failed job (dialled out, aborted,
  killed) is submitted again with back-off; after `retry_for_seconds` the reply is a
  `permanent_failure` for staff, like a bounced mail.
- `email`: a mail through `[relay]` to an address made from a template (`{number}@fax.example.net`)
  with the PDF attached and, where the service wants one, a cover text.
"""

from __future__ import annotations

import ftplib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from intake.faxsettings import FaxOutSettings
from intake.outbox import Delivery, next_attempt, send_smtp, write_eml, write_fax

SHORTEST_DIAL = 3  # fewer digits dial nobody (an internal extension has three)

if TYPE_CHECKING:
    from intake.settings import Settings
    from intake.store.protocols import OutboxStore
    from intake.store.store import OutboxItem

__all__ = ["FaxSent", "HylafaxClient", "HylafaxError", "fax_address", "follow_fax_jobs",
           "send_fax"]

log = logging.getLogger("intake.faxout")

FINAL_STATES = ("done", "failed")


class HylafaxError(Exception):
    """The fax server refused or could not be reached; `permanent` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class FaxSent:
    """What a transport did with one fax reply: the delivery, and the job to follow (hylafax)."""

    delivery: Delivery
    transport: str
    job: str | None = None
    state: str | None = None


def dial_digits(number: str) -> str:
    """`+1 (410) 555-0199` -> `14105550199`: what a dial string or an address template wants."""
    return re.sub(r"\D", "", number)


class HylafaxClient:
    """One conversation per call with a HylaFAX+ `hfaxd` (the protocol `sendfax` and `faxstat` use)."""

    def __init__(self, out: FaxOutSettings) -> None:
        self.out = out

    def _connect(self) -> ftplib.FTP:
        out = self.out
        ftp = ftplib.FTP(timeout=out.hylafax_timeout_seconds)
        try:
            ftp.connect(out.hylafax_host, out.hylafax_port)
            if ftp.sendcmd(f"USER {out.hylafax_user}").startswith("331"):
                password = out.hylafax_password.get_secret_value() if out.hylafax_password else ""
                ftp.sendcmd(f"PASS {password}")
        except BaseException:
            ftp.close()
            raise
        return ftp

    def _call(self, what: str, fn: Callable[[ftplib.FTP], str]) -> str:
        where = f"HylaFAX {self.out.hylafax_host}:{self.out.hylafax_port}"
        try:
            ftp = self._connect()
            try:
                return fn(ftp)
            finally:
                try:
                    ftp.quit()
                except (OSError, EOFError, ftplib.Error):
                    ftp.close()
        except ftplib.error_perm as exc:
            raise HylafaxError(f"{where}: {what}: {exc}", permanent=False) from None
        except (TimeoutError, OSError, EOFError, ftplib.Error) as exc:
            raise HylafaxError(f"{where}: {what}: {type(exc).__name__}: {exc}") from None

    def greeting(self) -> str:
        """The server's banner after login (for `coc-intake doctor`)."""
        return self._call("login", lambda ftp: ftp.getwelcome() or "")

    def submit(self, number: str, pdf: bytes, handed_over: Callable[[str], object] | None = None) -> str:
        """Queue one fax job with our PDF, no cover page; returns the job id.

        `handed_over(job)` runs when only `JSUBM` is left: the caller commits there that the fax
        counts as sent, so a crash after the server queued the job never submits a second one.
        """
        out = self.out
        dial = dial_digits(number)
        if len(dial) < SHORTEST_DIAL:
            raise HylafaxError(f"no number to dial in {number!r}", permanent=True)

        def run(ftp: ftplib.FTP) -> str:
            ftp.voidcmd("TYPE I")
            ftp.sendcmd("FORM PDF")
            stored = ftp.storbinary("STOT", io.BytesIO(pdf))
            m = re.search(r"FILE:\s*(\S+?)\)?\.?\s*$", stored)
            if not m:
                raise ftplib.error_proto(f"no file name in {stored!r}")
            created = ftp.sendcmd("JNEW")
            jm = re.search(r"jobid:\s*(\d+)", created)
            if not jm:
                raise ftplib.error_proto(f"no job id in {created!r}")
            # LASTTIME is the job's kill time from now (DDHHMM): without it the scheduler refuses the
            # job; sendfax's default, 3 hours, and within it HylaFAX's own dials and tries.
            for key, value in (("FROMUSER", out.hylafax_user), ("LASTTIME", "000259"), ("DIALSTRING", dial),
                               ("NOTIFY", "NONE"),
                               ("MAXDIALS", str(out.hylafax_max_dials)), ("MAXTRIES", str(out.hylafax_max_tries))):
                ftp.sendcmd(f"JPARM {key} {value}")
            ftp.sendcmd(f"JPARM DOCUMENT {m.group(1)}")
            if handed_over is not None:
                handed_over(jm.group(1))
            ftp.sendcmd("JSUBM")
            return jm.group(1)

        return self._call("submitting a job", run)

    def state(self, job: str) -> tuple[str, str]:
        """(state, status text) of a job: "ready", "blocked", "sleeping", "active", "done", "failed"...;
        a job the server no longer knows counts as failed."""
        def run(ftp: ftplib.FTP) -> str:
            try:
                ftp.sendcmd(f"JOB {job}")
            except ftplib.error_perm as exc:
                return f"FAILED\n{exc}"
            state = ftp.sendcmd("JPARM STATE")[4:].strip()
            status = ftp.sendcmd("JPARM STATUS")[4:].strip()
            return f"{state}\n{status}"

        state, _, status = self._call(f"state of job {job}", run).partition("\n")
        return state.lower(), status


def fax_address(out: FaxOutSettings, number: str) -> str:
    """The email-to-fax address of a number: the template with `{number}` as digits only."""
    return out.email_address.format(number=dial_digits(number))


def fax_mail(settings: Settings, number: str, pdf: bytes) -> tuple[str, bytes]:
    """(address, message) for the email transport: the PDF attached, the cover text as the body."""
    out = settings.fax_out
    address = fax_address(out, number)
    msg = EmailMessage()
    msg["From"] = Address(display_name="Certificate of Coverage", addr_spec=settings.relay.from_address)
    msg["To"] = address
    msg["Subject"] = out.email_subject or f"Fax to {number}"
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=settings.replies.our_domain or "localhost")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(out.email_cover_text or "")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"fax-{dial_digits(number)}.pdf")
    return address, msg.as_bytes()


def send_fax(settings: Settings, item: OutboxItem,
             handed_over: Callable[[str | None], object] | None = None) -> FaxSent:
    """Hand one fax reply to the configured transport; `handed_over(job)` is called at the last step
    before the transport has it (`JSUBM`, the final dot, the rename), as `send_smtp` does for mail."""
    out = settings.fax_out
    mark: Callable[[], object] | None = None if handed_over is None else lambda: handed_over(None)
    if out.transport == "hylafax":
        try:
            job = HylafaxClient(out).submit(item.recipient, item.message, handed_over)
        except HylafaxError as exc:
            return FaxSent(Delivery(False, permanent=exc.permanent, error=str(exc)), "hylafax")
        log.info("reply %d: HylaFAX job %s to %s", item.id, job, item.recipient)
        return FaxSent(Delivery(True), "hylafax", job, "submitted")
    if out.transport == "email":
        address, message = fax_mail(settings, item.recipient, item.message)
        if settings.relay.host:
            delivery = send_smtp(settings.relay, address, message, handed_over=mark)
        else:
            delivery = write_eml(settings.mail_sent, item.id, address, message, mark)
        return FaxSent(delivery, "email", None, "mailed to " + address if delivery.ok else None)
    return FaxSent(write_fax(settings.fax_outbox, item.id, item.recipient, item.message, mark),
                   "folder", None, "written")


def follow_fax_jobs(store: OutboxStore, out: FaxOutSettings, now: datetime) -> int:
    """Ask the fax server about every unfinished job once; returns how many changed state.

    A failed job is due again (a new job) with back-off, or after `retry_for_seconds` left for staff.
    An unreachable server changes nothing: the jobs are asked about on the next round.
    """
    if out.transport != "hylafax":
        return 0
    client = HylafaxClient(out)
    changed = 0
    for item in store.fax_jobs_to_follow("hylafax"):
        assert item.fax_job is not None
        try:
            state, status = client.state(item.fax_job)
        except HylafaxError as exc:
            log.warning("fax jobs: %s", exc)
            return changed
        if state == item.fax_state:
            continue
        changed += 1
        if state == "failed":
            created = item.created_at if item.created_at.tzinfo else item.created_at.replace(tzinfo=now.tzinfo)
            when = next_attempt(out, item.attempts, created, now)
            error = f"HylaFAX job {item.fax_job} to {item.recipient} failed: {status or 'no reason given'}"
            if when is None:
                error += f"; gave up after {out.retry_for_seconds:g} s"
            store.fax_job_failed(item.id, item.fax_job, error, when)
            log.warning("reply %d: %s%s", item.id, error,
                        "" if when is None else f"; submitted again at {when.isoformat(timespec='seconds')}")
        else:
            store.set_fax_state(item.id, item.fax_job, state)
            log.info("reply %d: HylaFAX job %s is %s", item.id, item.fax_job, state)
    return changed
