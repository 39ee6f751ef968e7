"""The real daemon (`coc-intake run`) as a child process, for end-to-end and crash tests.

A separate process, not threads in the test, so that a test can kill it with SIGKILL at any moment
exactly as an operator's machine could die.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.settings import load_settings
from intake.store import Store
from tests.dnsstub import loopback_dns
from tests.servers import DovecotServer, SinkMessage, SmtpSink, free_port, wait_for_port


def imap_section(dovecot: DovecotServer, *, port: int | None = None) -> str:
    """The `[imap]` of a test daemon reading the test Dovecot's INBOX (`port`: a cutting proxy's)."""
    return f"""
[imap]
enabled = true
host = "{dovecot.host}"
port = {port or dovecot.port}
security = "none"
username = "{dovecot.user}"
password = "{dovecot.password}"
folder = "INBOX"
processed_folder = "Processed"
poll_seconds = 1
timeout_seconds = 20
reconnect_max_seconds = 2
"""


def relay_section(sink: SmtpSink, *, timeout: float | None = None) -> str:
    """The `[relay]` of a test daemon sending to the aiosmtpd sink, with quick retries."""
    return f"""
[relay]
host = "{sink.host}"
port = {sink.port}
security = "none"
first_retry_seconds = 1
max_retry_seconds = 2
""" + (f"timeout_seconds = {timeout}\n" if timeout is not None else "")


def write_config(folder: Path, *, dovecot: DovecotServer | None, sink: SmtpSink | None,
                 store_url: str | None = None, workers: int = 2, extra: str = "",
                 imap_port: int | None = None, relay_timeout: float = 60.0) -> Path:
    """A config for the daemon under test; ``imap_port`` points IMAP elsewhere (a cutting proxy)."""
    smtp_port = free_port()
    config = folder / "coc-intake.toml"
    imap = imap_section(dovecot, port=imap_port) if dovecot is not None else ""
    relay = relay_section(sink, timeout=relay_timeout) if sink is not None else ""
    # Sender trust is not the point of most daemon tests: the verdict is still recorded, but nothing
    # is held for staff (tests/test_senderauth.py runs the daemon with it on). A caller's [trust] wins.
    # Either way DNS goes to a loopback stub (`loopback_dns`), never the machine's resolver.
    trust = "" if "[trust]" in extra else "\n[trust]\nflag_unverified = false\n"
    tail = loopback_dns(trust + extra)
    config.write_text(f"""
[store]
url = "{store_url or f'sqlite:///{folder}/var/coc-intake.db'}"

[paths]
var = "{folder}/var"

[smtp_listener]
port = {smtp_port}
accepted_recipients = ["certificate@localhost"]

[fax]
stable_seconds = 0.5
poll_seconds = 0.5
{imap}{relay}
[pipeline]
workers = {workers}

[web]
port = {free_port()}
{tail}
""", encoding="utf-8")
    return config


class GatewayProcess:
    def __init__(self, folder: Path, config: Path) -> None:
        self.folder = folder
        self.config = config
        self.settings = load_settings(config)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "gateway.log"

    @property
    def smtp_port(self) -> int:
        return int(self.settings.smtp_listener.port)

    def start(self) -> None:
        env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "--config", str(self.config), "run"],
                                         cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        wait_for_port("127.0.0.1", self.smtp_port, timeout=30)

    def kill(self) -> None:
        """SIGKILL the whole process group: the daemon and its extraction children."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        # The killed listener's port is free again as soon as the socket is gone.
        time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def store(self) -> Store:
        return Store.from_settings(self.settings)

    def outcome(self, sink_messages: Iterable[SinkMessage], mails: Sequence[Marked]) -> Outcome:
        """`outcome` counted on this daemon's store (opened and closed here)."""
        store = self.store()
        try:
            return outcome(store, sink_messages, mails)
        finally:
            store.dispose()

    def pids(self) -> list[int]:
        """The daemon and every process in its group (extraction workers, Tesseract)."""
        if self.proc is None:
            return []
        pgid = self.proc.pid
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 of stat: the process group
                found.append(int(entry))
        return found

    def rss_bytes(self) -> int:
        """Resident memory of the daemon and its workers, summed (from /proc/PID/statm)."""
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        return total

    def pss_bytes(self) -> int:
        """Proportional memory of the daemon and its workers, summed (`Pss:` of /proc/PID/smaps_rollup).

        The extraction workers are forked from one server that loaded the parsers first, so most of
        their pages are the server's, shared: summed RSS counts each such page once per process,
        summed PSS once in all, which is what the machine spends."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        return total

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# --------------------------------------------------------------------------- fault proof helpers
# Shared by tests/test_daemon.py, tests/test_faults.py and the long forms in bench/: every message
# carries its own markers (Message-ID, sender address, SSN), so the store and the sink can be counted
# message by message: lost, duplicate requests, duplicate replies.


@dataclass(frozen=True)
class Marked:
    """One generated message and the markers that find it again."""

    message_id: str
    sender: str
    ssn: str
    raw: bytes


def marked_mails(n: int, *, tag: str, seed: int = 7) -> list[Marked]:
    """``n`` complete text requests, each with a unique Message-ID, sender and SSN."""
    from tests import mailgen
    from tests.synth import labelled_lines, make_request, make_ssn

    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    for i in range(n):
        req = make_request(rng, kind="employee")
        while req["worker"]["ssn"] in seen:
            req["worker"]["ssn"] = make_ssn(rng)
        seen.add(req["worker"]["ssn"])
        sender = f"hr{i}@{tag}.example.com"
        req["employer"]["contact_email"] = sender
        mid = f"<{tag}-{i}@{tag}.example.com>"
        body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
        raw = mailgen.thunderbird(sender=sender, to="certificate@localhost", subject="Certificate of coverage request",
                                  text=body, html=None, attachments=[], message_id=mid)
        out.append(Marked(mid, sender, req["worker"]["ssn"], raw))
    return out


class Feeder:
    """Appends messages to a Dovecot folder from a thread, as mail arrives in a real mailbox.

    ``appended`` maps each Message-ID to the time (epoch seconds) its APPEND completed: the arrival
    time of the load benchmark.
    """

    def __init__(self, dovecot: DovecotServer, messages: Sequence[tuple[str, bytes]], *, per_second: float = 0.0,
                 folder: str = "INBOX") -> None:
        self.dovecot = dovecot
        self.messages = list(messages)
        self.per_second = per_second
        self.folder = folder
        self.appended: dict[str, float] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        client = self.dovecot.client()
        try:
            if not client.folder_exists(self.folder):
                client.create_folder(self.folder)
            start = time.monotonic()
            for i, (mid, raw) in enumerate(self.messages):
                if self.per_second > 0:
                    delay = start + i / self.per_second - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                client.append(self.folder, raw)
                self.appended[mid] = time.time()
        except BaseException as exc:  # noqa: BLE001  (any failure of the thread is reported by join())
            self.error = exc
        finally:
            with contextlib.suppress(Exception):
                client.logout()


@dataclass
class Outcome:
    """Message-by-message count of one fault run; ``clean`` when nothing was lost or doubled."""

    messages: int
    submissions: int
    requests: int
    replies: int
    lost: list[str]
    duplicate_requests: list[str]
    duplicate_replies: list[str]
    missing_replies: list[str]
    to_staff: list[str] = field(default_factory=list)  # stored and answered, but no request: for staff

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicate_requests or self.duplicate_replies or self.missing_replies)

    def line(self) -> str:
        return (f"{self.messages} messages: {self.submissions} submissions, {self.requests} requests, "
                f"{self.replies} replies; lost {len(self.lost)}, duplicate requests {len(self.duplicate_requests)}, "
                f"duplicate replies {len(self.duplicate_replies)}, missing replies {len(self.missing_replies)}, "
                f"routed to staff without a request {len(self.to_staff)}")


def outcome(store: Store, sink_messages: Iterable[SinkMessage], mails: Sequence[Marked]) -> Outcome:
    """Count the store and the sink against the generated messages.

    Lost: a message with no submission, or with no request read from it and not routed to staff
    (a submission whose extraction was interrupted ``max_attempts`` times goes to staff, with a
    reply, on purpose: it is counted as ``to_staff``, not lost). Duplicate request: two
    requests carrying one message's SSN. Duplicate reply: two replies at the sink threaded to one
    message (In-Reply-To). Missing reply: a stored message that never got one.
    """
    sub_ids: set[str] = set()
    reviewing: set[str] = set()
    ssns: Counter[str] = Counter()
    n_subs = 0
    for sid in store.submission_ids():  # through the store: the fields are sealed at rest
        n_subs += 1
        sub = store.get_submission(sid)
        if sub.message_id:
            sub_ids.add(sub.message_id)
            if sub.state == "needs_review" and not store.requests_of(sid):
                reviewing.add(sub.message_id)
        for rec in store.requests_of(sid):
            ssns[str((rec.fields.get("worker") or {}).get("ssn"))] += 1
    replies = reply_refs(sink_messages)
    n_replies = sum(replies.values())
    to_staff = [m.message_id for m in mails if m.message_id in reviewing and ssns[m.ssn] == 0]
    lost = [m.message_id for m in mails
            if m.message_id not in sub_ids or (ssns[m.ssn] == 0 and m.message_id not in to_staff)]
    return Outcome(
        messages=len(mails), submissions=n_subs, requests=sum(ssns.values()), replies=n_replies,
        lost=lost,
        duplicate_requests=[m.message_id for m in mails if ssns[m.ssn] > 1],
        duplicate_replies=[m.message_id for m in mails if replies[m.message_id] > 1],
        missing_replies=[m.message_id for m in mails if replies[m.message_id] == 0 and m.message_id not in lost],
        to_staff=to_staff,
    )


def reply_refs(sink_messages: Iterable[SinkMessage]) -> Counter[str]:
    """How many replies the sink received per original Message-ID (their In-Reply-To)."""
    from email.parser import BytesHeaderParser

    refs: Counter[str] = Counter()
    for m in sink_messages:
        head = BytesHeaderParser().parsebytes(m.content.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0] + b"\n\n")
        refs[re.sub(r"\s+", "", str(head.get("In-Reply-To", "")))] += 1
    return refs


class ReplyTracker:
    """Counts the replies at one or more sinks per original Message-ID, parsing each message once.

    Waiting loops call ``refs()`` every second over thousands of replies; re-parsing them all would
    hold the GIL long enough to slow the sink's own thread in the same process.
    """

    def __init__(self, *sinks: SmtpSink) -> None:
        self.sinks = list(sinks)
        self._done: dict[int, int] = {}
        self._refs: Counter[str] = Counter()

    def add(self, sink: SmtpSink) -> None:
        self.sinks.append(sink)

    def refs(self) -> Counter[str]:
        for sink in self.sinks:
            got = sink.received()
            start = self._done.get(id(sink), 0)
            self._refs.update(reply_refs(got[start:]))
            self._done[id(sink)] = len(got)
        return self._refs
