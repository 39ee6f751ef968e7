"""The intake sources against real servers: a private Dovecot, a real aiosmtpd listener, a real folder.

Every test stores into the real Store on SQLite and checks the promises of the sources: stored
once, acknowledged only after storing, nothing twice, nothing lost.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import smtplib
import socket
import sqlite3
import ssl
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from intake.sources.faxdir import FaxDirSource, normalise_fax_number, parse_sidecar
from intake.sources.imap import STORED_KEYWORD, ImapSource
from intake.sources.imap_nudge import ImapNudge
from intake.sources.smtp import SmtpSource
from tests.servers import (
    DovecotServer,
    SmtpSink,
    free_port,
    imap_append,
    imap_count,
    imap_uids,
    running_dovecot,
    running_smtp_sink,
)

# --------------------------------------------------------------------------- helpers


class RecordingStore:
    """The real Store, wrapped to record what was stored (and optionally to fail)."""

    def __init__(self, url: str, db_path: Path) -> None:
        from intake.store import Store

        self.inner = Store(url)
        self.inner.upgrade()
        self.db_path = db_path
        self.calls: list[tuple[Any, int, bool]] = []
        self.fail: BaseException | None = None
        self.lock = threading.Lock()

    def store_submission(self, inc: Any) -> tuple[int, bool]:
        if self.fail is not None:
            raise self.fail
        sid, created = self.inner.store_submission(inc)
        with self.lock:
            self.calls.append((inc, sid, created))
        return sid, created

    def store_submissions(self, incs: Sequence[Any]) -> list[tuple[int, bool]]:
        if self.fail is not None:
            raise self.fail
        stored = self.inner.store_submissions(incs)
        with self.lock:
            self.calls.extend((inc, sid, created) for inc, (sid, created) in zip(incs, stored, strict=True))
        return stored

    def imap_known(self, folder: str, uidvalidity: int, uids: list[int]) -> set[int]:
        return self.inner.imap_known(folder, uidvalidity, uids)

    def count(self) -> int:
        """Rows in the submissions table, read straight from the database file."""
        with sqlite3.connect(self.db_path) as db:
            return int(db.execute("SELECT count(*) FROM submissions").fetchone()[0])

    def created_ids(self) -> list[int]:
        with self.lock:
            return [sid for _, sid, created in self.calls if created]

    def incoming(self) -> list[Any]:
        with self.lock:
            return [inc for inc, _, created in self.calls if created]


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    db = tmp_path / "coc.db"
    return RecordingStore(f"sqlite:///{db}", db)


class NewIds:
    """An ``on_new`` callback that records ids and lets a test wait for them."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cond = threading.Condition()

    def __call__(self, sid: int) -> None:
        with self.cond:
            self.ids.append(sid)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.ids) >= count, timeout)


def make_mail(n: int, *, attachment: bool = False, msgid: str | None = None, size: int = 0) -> bytes:
    """A synthetic request mail (generated names and numbers only)."""
    msg = EmailMessage()
    msg["From"] = f"HR Department {n} <hr{n}@employer{n}.example>"
    msg["To"] = "certificate@localhost"
    msg["Subject"] = f"Certificate of coverage request {n}"
    msg["Message-ID"] = msgid or make_msgid(domain=f"employer{n}.example")
    body = (
        f"Worker name: Test Worker {n}\nSSN: 123-45-{6000 + n}\nEmployer: Example Corp {n}\n"
        f"EIN: 12-34567{n % 10}{n % 10}\nCountry: Germany\nStart date: 2027-01-0{1 + n % 9}\n"
    )
    if size:
        body += "x" * size
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4\n% synthetic\n", maintype="application", subtype="pdf", filename="form.pdf")
    return msg.as_bytes().replace(b"\n", b"\r\n")


def imap_source(server: DovecotServer, store: RecordingStore, **kwargs: Any) -> ImapSource:
    defaults: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "password": server.password,
        "security": "none",
        "processed_folder": "Processed",
        "poll_seconds": 1.0,
        "idle_check_seconds": 0.2,
        "backoff_initial": 0.2,
        "backoff_max": 1.0,
        "timeout": 10.0,
    }
    defaults.update(kwargs)
    return ImapSource(store, **defaults)


def wait_until(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@pytest.fixture
def running() -> Iterator[Callable[[ImapSource], threading.Thread]]:
    """Start ``ImapSource.run`` in a thread; stopped and joined at the end of the test."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(source: ImapSource) -> threading.Thread:
        stop = threading.Event()
        t = threading.Thread(target=source.run, args=(stop,), daemon=True)
        t.start()
        stops.append((stop, t))
        return t

    yield start
    for stop, _ in stops:
        stop.set()
    for _, t in stops:
        t.join(timeout=15)
        assert not t.is_alive(), "ImapSource.run did not stop"


# --------------------------------------------------------------------------- IMAP


def test_imap_stores_each_message_once_and_moves_it(dovecot: DovecotServer, store: RecordingStore) -> None:
    mails = [make_mail(1), make_mail(2, attachment=True), make_mail(3)]
    for m in mails:
        imap_append(dovecot, "INBOX", m)
    new = NewIds()
    src = imap_source(dovecot, store, on_new=new)
    try:
        ids = src.poll_once()
        assert len(ids) == 3 and len(set(ids)) == 3
        assert new.ids == ids
        assert store.count() == 3
        # Byte for byte, with the channel ids the store dedupes on.
        stored = store.incoming()
        assert sorted(inc.raw for inc in stored) == sorted(mails)
        assert {inc.channel for inc in stored} == {"imap"}
        assert all(inc.imap_folder == "INBOX" and inc.imap_uidvalidity and inc.imap_uid for inc in stored)
        assert stored[0].sender == "hr1@employer1.example"
        assert stored[0].message_id and stored[0].message_id.startswith("<")
        assert stored[0].received_at.tzinfo is not None
        assert imap_count(dovecot, "INBOX") == 0
        assert imap_count(dovecot, "Processed") == 3
        # Fetched with BODY.PEEK: the moved messages are still unread for the people who look.
        assert imap_uids(dovecot, "Processed", ["SEEN"]) == []
        # A second poll stores nothing new.
        assert src.poll_once() == []
        assert store.count() == 3
    finally:
        src.close()
    # A second source (a restart) stores nothing new either.
    imap_append(dovecot, "INBOX", make_mail(4))
    src2 = imap_source(dovecot, store, on_new=new)
    try:
        assert len(src2.poll_once()) == 1
    finally:
        src2.close()
    assert store.count() == 4
    assert imap_count(dovecot, "Processed") == 4


def test_imap_nudge_wakes_the_source_when_a_message_arrives(dovecot: DovecotServer, store: RecordingStore) -> None:
    """The nudge's own session (the source's login, no folder selected) sees UIDNEXT move when a
    message is appended and asks the source for a poll; a folder that does not change asks nothing."""
    src = imap_source(dovecot, store)
    nudge = ImapNudge(src, interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=nudge.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # a few rounds on an unchanged folder
        assert nudge.nudges == 0 and not src._wake.is_set()
        imap_append(dovecot, "INBOX", make_mail(41))
        deadline = time.monotonic() + 20
        while nudge.nudges == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert nudge.nudges == 1 and src._wake.is_set()
    finally:
        stop.set()
        thread.join(timeout=10)
        src.close()
    assert not thread.is_alive()


def test_imap_without_processed_folder_flags_and_skips(dovecot: DovecotServer, store: RecordingStore) -> None:
    for n in range(3):
        imap_append(dovecot, "INBOX", make_mail(n))
    src = imap_source(dovecot, store, processed_folder=None, batch_size=2)
    try:
        assert len(src.poll_once()) == 3
        assert imap_count(dovecot, "INBOX") == 3
        assert len(imap_uids(dovecot, "INBOX", ["KEYWORD", STORED_KEYWORD])) == 3
        calls_before = len(store.calls)
        assert src.poll_once() == []
        assert len(store.calls) == calls_before, "flagged messages must not even be fetched again"
    finally:
        src.close()
    assert store.count() == 3


def test_imap_stored_but_not_moved_is_only_moved(dovecot: DovecotServer, store: RecordingStore) -> None:
    """A crash between commit and MOVE: the next poll acknowledges the message without storing it."""
    from intake.store import Incoming

    raw = make_mail(7)
    uid = imap_append(dovecot, "INBOX", raw)
    assert uid is not None
    c = dovecot.client()
    uidvalidity = int(c.select_folder("INBOX")[b"UIDVALIDITY"])
    c.logout()
    from datetime import UTC, datetime

    _sid, created = store.inner.store_submission(
        Incoming(
            channel="imap",
            raw=raw,
            sender="hr7@employer7.example",
            received_at=datetime.now(UTC),
            imap_folder="INBOX",
            imap_uidvalidity=uidvalidity,
            imap_uid=uid,
        )
    )
    assert created
    src = imap_source(dovecot, store)
    try:
        assert src.poll_once() == []
    finally:
        src.close()
    assert store.calls == []  # never fetched and stored again
    assert store.count() == 1
    assert imap_count(dovecot, "INBOX") == 0 and imap_count(dovecot, "Processed") == 1


def test_imap_uidvalidity_change_imports_nothing_twice(dovecot: DovecotServer, store: RecordingStore) -> None:
    mails = [make_mail(1), make_mail(2)]
    for m in mails:
        imap_append(dovecot, "Intake", m)
    src = imap_source(dovecot, store, folder="Intake", processed_folder=None)
    try:
        assert len(src.poll_once()) == 2
        old_validity = src._uidvalidity
    finally:
        src.close()
    c = dovecot.client()
    c.delete_folder("Intake")
    c.create_folder("Intake")
    c.logout()
    for m in [*mails, make_mail(3)]:
        imap_append(dovecot, "Intake", m)
    src = imap_source(dovecot, store, folder="Intake", processed_folder=None)
    try:
        new = src.poll_once()
        assert src._uidvalidity != old_validity
    finally:
        src.close()
    assert len(new) == 1, "only the third message is new"
    assert store.count() == 3
    # The re-read duplicates are acknowledged too, so they are not fetched on every poll.
    assert len(imap_uids(dovecot, "Intake", ["KEYWORD", STORED_KEYWORD])) == 3


def test_imap_oversize_message_is_stored_as_header_and_moved(dovecot: DovecotServer, store: RecordingStore) -> None:
    imap_append(dovecot, "INBOX", make_mail(1, size=50_000))
    small = make_mail(2)
    imap_append(dovecot, "INBOX", small)
    src = imap_source(dovecot, store, max_message_bytes=20_000)
    try:
        assert len(src.poll_once()) == 2
    finally:
        src.close()
    by_sender = {inc.sender: inc for inc in store.incoming()}
    big = by_sender["hr1@employer1.example"]
    assert big.raw.startswith(b"X-Coc-Intake-Truncated:")
    assert len(big.raw) < 20_000 and b"Subject: Certificate of coverage request 1" in big.raw
    assert by_sender["hr2@employer2.example"].raw == small
    assert imap_count(dovecot, "INBOX") == 0 and imap_count(dovecot, "Processed") == 2


def test_imap_idle_notices_a_new_message(
    dovecot: DovecotServer, store: RecordingStore, running: Callable[[ImapSource], threading.Thread]
) -> None:
    new = NewIds()
    # A long poll interval: only IDLE can deliver the message within the test's few seconds.
    src = imap_source(dovecot, store, on_new=new, poll_seconds=600)
    running(src)
    assert wait_until(lambda: src.polls >= 1, 10)
    time.sleep(0.5)  # let it enter IDLE
    t0 = time.monotonic()
    imap_append(dovecot, "INBOX", make_mail(5))
    assert new.wait(1, 5), "IDLE did not notice the appended message"
    assert time.monotonic() - t0 < 5
    assert store.count() == 1
    assert wait_until(lambda: imap_count(dovecot, "Processed") == 1, 5)


def test_imap_polls_without_idle(
    dovecot: DovecotServer, store: RecordingStore, running: Callable[[ImapSource], threading.Thread]
) -> None:
    new = NewIds()
    src = imap_source(dovecot, store, on_new=new, use_idle=False, poll_seconds=0.5)
    running(src)
    assert wait_until(lambda: src.polls >= 1, 10)
    imap_append(dovecot, "INBOX", make_mail(6))
    assert new.wait(1, 5)
    assert src.connects == 1, "polling reuses the connection"


@pytest.mark.parametrize("how", ["kick", "restart"])
def test_imap_reconnects_after_the_connection_drops(
    dovecot: DovecotServer,
    store: RecordingStore,
    running: Callable[[ImapSource], threading.Thread],
    how: str,
) -> None:
    new = NewIds()
    src = imap_source(dovecot, store, on_new=new, poll_seconds=600)
    running(src)
    assert wait_until(lambda: src.polls >= 1, 10)
    time.sleep(0.5)
    if how == "kick":
        dovecot.kick()  # the server closes the session under the IDLE
    else:
        dovecot.restart()  # the whole server goes away and comes back on the same port
    # Generous deadlines: on a loaded 2-core machine a Dovecot restart plus back-off can take a while;
    # what is checked is that the reconnect happens at all, not how fast.
    assert wait_until(lambda: src.connects >= 2, 60), "no reconnect"
    imap_append(dovecot, "INBOX", make_mail(8))
    assert new.wait(1, 30), "message after the reconnect not stored"
    assert store.count() == 1
    assert wait_until(lambda: imap_count(dovecot, "Processed") == 1, 30)


def test_imap_poll_once_refuses_while_running(
    dovecot: DovecotServer, store: RecordingStore, running: Callable[[ImapSource], threading.Thread]
) -> None:
    src = imap_source(dovecot, store, poll_seconds=600)
    running(src)
    assert wait_until(lambda: src.polls >= 1, 10)
    with pytest.raises(RuntimeError):
        src.poll_once()
    polls = src.polls
    src.request_poll()
    assert wait_until(lambda: src.polls > polls, 5), "request_poll did not trigger a poll"


# --------------------------------------------------------------------------- SMTP / LMTP


@pytest.fixture
def smtp_source(store: RecordingStore) -> Iterator[tuple[SmtpSource, NewIds]]:
    new = NewIds()
    src = SmtpSource(
        store,
        host="127.0.0.1",
        port=free_port(),
        accepted_recipients=["certificate@localhost", "Coverage@Example.org"],
        max_message_bytes=100_000,
        on_new=new,
    )
    src.start()
    try:
        yield src, new
    finally:
        src.stop()


def test_smtp_accepts_and_stores_before_250(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, new = smtp_source
    raw = make_mail(1)
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.ehlo()
        s.mail("hr1@employer1.example")
        code, _ = s.rcpt("coverage@example.org")  # recipients compare case-insensitively
        assert code == 250
        code, reply = s.data(raw)
        # Already committed when the 250 arrives: the row is in the database file right now.
        assert store.count() == 1
    assert code == 250
    sid = store.created_ids()[0]
    assert reply.decode() == f"Message accepted for delivery <{sid}>"
    assert new.ids == [sid]
    inc = store.incoming()[0]
    assert inc.channel == "smtp"
    assert inc.raw == b"Return-Path: <hr1@employer1.example>\r\n" + raw
    assert inc.sender == "hr1@employer1.example"
    assert inc.recipients == ("coverage@example.org",)
    assert inc.message_id and inc.message_id.startswith("<")


def test_smtp_null_sender_and_duplicate(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, new = smtp_source
    raw = make_mail(2)
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.sendmail("", ["certificate@localhost"], raw)
        s.sendmail("", ["certificate@localhost"], raw)  # the same message delivered again
    assert store.count() == 1
    assert len(new.ids) == 1
    assert store.incoming()[0].raw.startswith(b"Return-Path: <>\r\n")
    assert store.incoming()[0].sender is None


def test_smtp_unknown_recipient_550(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, _ = smtp_source
    with smtplib.SMTP(src.host, src.port, timeout=10) as s, pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        s.sendmail("hr@employer.example", ["someone.else@localhost"], make_mail(3))
    code, text = err.value.recipients["someone.else@localhost"]
    assert code == 550 and text.startswith(b"5.1.1")
    assert store.count() == 0


def test_smtp_oversize_552(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, _ = smtp_source
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.ehlo()
        # No SIZE= on MAIL FROM, so the limit is hit while the data streams in.
        s.mail("hr@employer.example")
        s.rcpt("certificate@localhost")
        code, text = s.data(make_mail(4, size=150_000))
    assert code == 552 and text.startswith(b"5.3.4")
    assert store.count() == 0


def test_smtp_storage_failure_451(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, new = smtp_source
    store.fail = RuntimeError("database is locked; params: 123-45-6789")
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.ehlo()
        s.mail("hr@employer.example")
        s.rcpt("certificate@localhost")
        code, text = s.data(make_mail(5))
    assert code == 451 and text.startswith(b"4.3.0")
    assert new.ids == []
    store.fail = None
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.sendmail("hr@employer.example", ["certificate@localhost"], make_mail(5))
    assert store.count() == 1


def _lmtp_session(port: int, lines: list[bytes], data: bytes, replies_after_data: int) -> list[str]:
    """A raw LMTP conversation (smtplib.LMTP reads only one reply after DATA)."""
    out: list[str] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rb")

        def reply() -> str:
            text = ""
            while True:
                line = f.readline().decode()
                text += line
                if len(line) < 4 or line[3] != "-":
                    return text.strip()

        out.append(reply())  # greeting
        for line in lines:
            sock.sendall(line + b"\r\n")
            out.append(reply())
        sock.sendall(data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        for _ in range(replies_after_data):
            out.append(reply())
        sock.sendall(b"QUIT\r\n")
    return out


def test_lmtp_answers_per_recipient(store: RecordingStore) -> None:
    new = NewIds()
    src = SmtpSource(
        store,
        port=free_port(),
        lmtp=True,
        accepted_recipients=["certificate@localhost", "coverage@localhost"],
        max_message_bytes=50_000,
        on_new=new,
    )
    src.start()
    try:
        out = _lmtp_session(
            src.port,
            [
                b"LHLO client.example",
                b"MAIL FROM:<hr@employer.example>",
                b"RCPT TO:<certificate@localhost>",
                b"RCPT TO:<nobody@localhost>",
                b"RCPT TO:<coverage@localhost>",
                b"DATA",
            ],
            make_mail(9),
            replies_after_data=2,
        )
        assert out[1].startswith("250")  # LHLO
        assert out[3].startswith("250") and out[4].startswith("550 5.1.1") and out[5].startswith("250")
        assert out[6].startswith("354")
        sid = new.ids[0]
        assert out[7] == out[8] == f"250 Message accepted for delivery <{sid}>"
        assert store.count() == 1
        inc = store.incoming()[0]
        assert inc.channel == "lmtp"
        assert inc.recipients == ("certificate@localhost", "coverage@localhost")
        # Over size: one 552 per recipient as well.
        out = _lmtp_session(
            src.port,
            [
                b"LHLO client.example",
                b"MAIL FROM:<hr@employer.example>",
                b"RCPT TO:<certificate@localhost>",
                b"RCPT TO:<coverage@localhost>",
                b"DATA",
            ],
            make_mail(10, size=80_000),
            replies_after_data=2,
        )
        assert out[-1].startswith("552 5.3.4") and out[-2].startswith("552 5.3.4")
        assert store.count() == 1
    finally:
        src.stop()


# --------------------------------------------------------------------------- fax folder


TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64  # a TIFF header is enough: the source never parses


@pytest.fixture
def faxdirs(tmp_path: Path) -> tuple[Path, Path]:
    inbox, done = tmp_path / "fax" / "inbox", tmp_path / "fax" / "done"
    inbox.mkdir(parents=True)
    return inbox, done


def fax_source(store: RecordingStore, dirs: tuple[Path, Path], **kwargs: Any) -> FaxDirSource:
    defaults: dict[str, Any] = {"stable_seconds": 0.3, "sidecar_grace_seconds": 0.3}
    defaults.update(kwargs)
    return FaxDirSource(store, inbox=dirs[0], done=dirs[1], **defaults)


def scan_until(src: FaxDirSource, count: int, timeout: float = 5.0) -> list[int]:
    got: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(got) < count:
        got += src.scan_once()
        time.sleep(0.1)
    return got


def test_fax_growing_file_waits_until_stable(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, done = faxdirs
    new = NewIds()
    src = fax_source(store, faxdirs, stable_seconds=1.0, on_new=new)
    path = inbox / "fax_+12085550142_20261125T101400.tif"
    content = TIFF + os.urandom(3000)
    with open(path, "wb") as f:
        for i in range(0, len(content), 500):
            f.write(content[i : i + 500])
            f.flush()
            assert src.scan_once() == [], "taken while still being written"
            time.sleep(0.3)
    assert store.count() == 0
    ids = scan_until(src, 1)
    assert len(ids) == 1 and new.ids == ids
    inc = store.incoming()[0]
    assert inc.raw == content, "stored the complete file"
    assert inc.channel == "fax" and inc.sender == "+12085550142"
    assert inc.fax_filename == path.name
    assert not path.exists() and (done / path.name).read_bytes() == content


def test_fax_rename_into_place(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, done = faxdirs
    src = fax_source(store, faxdirs)
    tmp = inbox / "fax_+442071234567_20261125T110000.pdf.tmp"
    tmp.write_bytes(b"%PDF-1.4\n% synthetic fax\n")
    hidden = inbox / ".incoming.pdf"
    hidden.write_bytes(b"%PDF-1.4\n")
    time.sleep(0.5)
    assert src.scan_once() == [] and src.scan_once() == []
    final = inbox / "fax_+442071234567_20261125T110000.pdf"
    tmp.rename(final)
    ids = scan_until(src, 1)
    assert len(ids) == 1
    assert store.incoming()[0].sender == "+442071234567"
    assert (done / final.name).exists()
    assert hidden.exists(), "temporary names are left alone"


def test_fax_sender_from_sidecar(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, done = faxdirs
    src = fax_source(store, faxdirs)
    (inbox / "fax000123.tif").write_bytes(TIFF + b"a")
    (inbox / "fax000123.tif.txt").write_text("device=ttyS0\nsender=+1 208 555 0142\npages=2\n")
    (inbox / "fax000124.tiff").write_bytes(TIFF + b"b")
    (inbox / "fax000124.tiff.json").write_text(json.dumps({"sender": "+49 (30) 1234-5678"}))
    ids = scan_until(src, 2)
    assert len(ids) == 2
    senders = {inc.fax_filename: inc.sender for inc in store.incoming()}
    assert senders == {"fax000123.tif": "+12085550142", "fax000124.tiff": "+493012345678"}
    assert sorted(p.name for p in done.iterdir()) == [
        "fax000123.tif",
        "fax000123.tif.txt",
        "fax000124.tiff",
        "fax000124.tiff.json",
    ]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == []


def test_fax_without_any_sender_is_still_stored(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, _ = faxdirs
    src = fax_source(store, faxdirs, sidecar_grace_seconds=0.5)
    (inbox / "fax000200.tif").write_bytes(TIFF + b"c")
    ids = scan_until(src, 1)
    assert len(ids) == 1 and store.incoming()[0].sender is None


def test_fax_duplicate_file_makes_no_second_submission(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, done = faxdirs
    new = NewIds()
    src = fax_source(store, faxdirs, on_new=new)
    content = TIFF + b"same fax"
    name = "fax_+12085550142_20261125T101400.tif"
    (inbox / name).write_bytes(content)
    assert len(scan_until(src, 1)) == 1
    # The same file again, under the same name (the fax server retried): done gets a suffix.
    (inbox / name).write_bytes(content)
    (inbox / "fax_+12085550142_20261125T101500.tif").write_bytes(content)
    assert wait_until(lambda: (src.scan_once() or True) and not any(inbox.glob("*.tif")), 5)
    assert store.count() == 1 and len(new.ids) == 1
    assert sorted(p.name for p in done.iterdir()) == [
        "fax_+12085550142_20261125T101400-1.tif",
        "fax_+12085550142_20261125T101400.tif",
        "fax_+12085550142_20261125T101500.tif",
    ]


def test_fax_other_files_are_rejected_not_lost(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    inbox, _ = faxdirs
    src = fax_source(store, faxdirs)
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04 not a fax")
    assert wait_until(lambda: (src.scan_once() or True) and not (inbox / "notes.docx").exists(), 5)
    assert (inbox / "rejected" / "notes.docx").exists()
    assert store.count() == 0


def test_fax_run_loop_and_store_failure(faxdirs: tuple[Path, Path], store: RecordingStore) -> None:
    """A store outage leaves the file in the inbox; it is stored once the store is back."""
    inbox, done = faxdirs
    new = NewIds()
    src = fax_source(store, faxdirs, poll_seconds=0.1, on_new=new)
    store.fail = RuntimeError("store down")
    (inbox / "fax_+12085550199_20261125T120000.pdf").write_bytes(b"%PDF-1.4\n% one\n")
    stop = threading.Event()
    t = threading.Thread(target=src.run, args=(stop,), daemon=True)
    t.start()
    try:
        time.sleep(1.0)
        assert (inbox / "fax_+12085550199_20261125T120000.pdf").exists()
        store.fail = None
        assert new.wait(1, 10)
        assert wait_until((done / "fax_+12085550199_20261125T120000.pdf").exists, 5)
    finally:
        stop.set()
        t.join(10)
    assert store.count() == 1


def test_fax_number_helpers() -> None:
    assert normalise_fax_number("+1 (208) 555-0142") == "+12085550142"
    assert normalise_fax_number("n/a") is None
    assert parse_sidecar(b"Sender: +44 20 7123 4567\n", "x.tif.txt") == "+442071234567"
    assert parse_sidecar(b'{"from": "+1 208 555 0142"}', "x.tif.json") == "+12085550142"
    assert parse_sidecar(b"pages=3\n", "x.tif.txt") is None


# --------------------------------------------------------------------------- built from the settings


def test_sources_from_settings(
    dovecot: DovecotServer, store: RecordingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.settings import load_settings

    cfg = tmp_path / "coc.toml"
    cfg.write_text(
        f"""
[paths]
var = "{tmp_path / "var"}"
[imap]
enabled = true
host = "{dovecot.host}"
port = {dovecot.port}
security = "none"
username = "{dovecot.user}"
processed_folder = "Done"
processed_flag = "$Seen2Coc"
[smtp_listener]
port = {free_port()}
accepted_recipients = ["Requests@Example.org"]
[fax]
stable_seconds = 0.2
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("COC_INTAKE_IMAP__PASSWORD", dovecot.password)
    settings = load_settings(cfg)

    imap_append(dovecot, "INBOX", make_mail(1))
    src = ImapSource.from_settings(settings.imap, store)
    try:
        assert len(src.poll_once()) == 1
    finally:
        src.close()
    assert imap_count(dovecot, "Done") == 1
    assert len(imap_uids(dovecot, "Done", ["KEYWORD", "$Seen2Coc"])) == 1

    smtp = SmtpSource.from_settings(settings.smtp_listener, store)
    smtp.start()
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as s:
            s.sendmail("hr@employer.example", ["requests@example.org"], make_mail(2))
    finally:
        smtp.stop()

    fax = FaxDirSource.from_settings(settings.fax, settings.paths, store)
    settings.fax_inbox.mkdir(parents=True, exist_ok=True)
    (settings.fax_inbox / "fax0001.pdf").write_bytes(b"%PDF-1.4\n% settings\n")
    (settings.fax_inbox / "fax0001.pdf.txt").write_text("sender=+1 208 555 0142\n")
    assert len(scan_until(fax, 1)) == 1
    assert (settings.fax_done / "fax0001.pdf.txt").exists()
    assert [inc.channel for inc in store.incoming()] == ["imap", "smtp", "fax"]
    assert store.incoming()[2].sender == "+12085550142"
    assert store.count() == 3


def test_imap_store_outage_leaves_messages_in_place(dovecot: DovecotServer, store: RecordingStore) -> None:
    """Store first, acknowledge after: while the store is down nothing is moved, flagged or read."""
    from sqlalchemy.exc import OperationalError

    for n in range(2):
        imap_append(dovecot, "INBOX", make_mail(n))
    src = imap_source(dovecot, store)
    try:
        store.fail = OperationalError("INSERT", {}, Exception("database is locked"))
        with pytest.raises(OperationalError):
            src.poll_once()
        assert imap_count(dovecot, "INBOX") == 2 and imap_count(dovecot, "Processed") == 0
        assert imap_uids(dovecot, "INBOX", ["SEEN"]) == []
        store.fail = None
        assert len(src.poll_once()) == 2
    finally:
        src.close()
    assert imap_count(dovecot, "INBOX") == 0 and imap_count(dovecot, "Processed") == 2


def test_imap_message_that_cannot_be_stored_is_kept_for_staff(dovecot: DovecotServer, store: RecordingStore) -> None:
    """A message that makes the store refuse it (not a database outage) is not fetched forever."""
    imap_append(dovecot, "INBOX", make_mail(1))
    original = store.store_submission

    def refuse_full_message(inc: Any) -> tuple[int, bool]:
        if not inc.raw.startswith(b"X-Coc-Intake-Unstorable"):
            raise ValueError("cannot handle this message")
        return original(inc)

    def refuse_in_a_batch(incs: Sequence[Any]) -> list[tuple[int, bool]]:
        return [refuse_full_message(i) for i in incs]  # the batch's one transaction fails the same way

    store.store_submission = refuse_full_message  # type: ignore[method-assign]
    store.store_submissions = refuse_in_a_batch  # type: ignore[method-assign]
    src = imap_source(dovecot, store)
    try:
        assert len(src.poll_once()) == 1
        assert src.poll_once() == []
    finally:
        src.close()
    (inc,) = store.incoming()
    assert inc.raw.startswith(b"X-Coc-Intake-Unstorable: ValueError")
    assert b"Subject: Certificate of coverage request 1" in inc.raw
    assert imap_count(dovecot, "Processed") == 1


def test_imap_idle_is_renewed(
    dovecot: DovecotServer, store: RecordingStore, running: Callable[[ImapSource], threading.Thread]
) -> None:
    """IDLE is ended and re-issued (with a poll) after idle_renew_seconds, on the same connection."""
    src = imap_source(dovecot, store, idle_renew_seconds=0.5, poll_seconds=600)
    running(src)
    assert wait_until(lambda: src.polls >= 4, 10)
    assert src.connects == 1


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_over_tls(security: str, store: RecordingStore) -> None:
    with running_dovecot(tls=True) as server:
        imap_append(server, "INBOX", make_mail(1))
        port = server.tls_port if security == "tls" else server.port
        src = imap_source(server, store, port=port, security=security, tls_verify=False)
        try:
            assert len(src.poll_once()) == 1
            assert src._client is not None
            sock = src._client.socket()
            assert hasattr(sock, "cipher") and sock.cipher() is not None, "not encrypted"
        finally:
            src.close()
        # With verification on, the self-signed certificate is refused.
        strict = imap_source(server, store, port=port, security=security, tls_verify=True)
        with pytest.raises(ssl.SSLError):
            strict.poll_once()
        strict.close()


def test_imap_xoauth2_login(dovecot: DovecotServer, store: RecordingStore) -> None:
    """XOAUTH2 instead of LOGIN (the test Dovecot checks the bearer token against its passwd-file)."""
    imap_append(dovecot, "INBOX", make_mail(1))
    src = imap_source(dovecot, store, password=None, oauth2_token=dovecot.password)
    try:
        assert len(src.poll_once()) == 1
    finally:
        src.close()
    bad = imap_source(dovecot, store, password=None, oauth2_token="not-the-token")
    with pytest.raises(Exception, match=r"(?i)fail|auth"):
        bad.poll_once()
    bad.close()


def test_smtp_sink_records_and_fails_on_demand(smtp_sink: SmtpSink) -> None:
    """The relay stand-in other tests use: records envelopes; answers a set error a set number of times."""
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as s:
        s.sendmail("", ["hr@employer.example"], b"Subject: ack\r\n\r\nreceived\r\n")
    (got,) = smtp_sink.wait_for(1)
    assert got.mail_from in {"", "<>"}
    assert got.rcpt_tos == ("hr@employer.example",) and got.content.endswith(b"received\r\n")
    smtp_sink.fail("451 4.3.0 try again later", times=1)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("", ["hr@employer.example"], b"Subject: ack\r\n\r\nagain\r\n")
        assert err.value.smtp_code == 451
        s.sendmail("", ["hr@employer.example"], b"Subject: ack\r\n\r\nagain\r\n")
    smtp_sink.fail("550 5.1.1 no such user", stage="rcpt")
    with (
        smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as s,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        s.sendmail("", ["gone@employer.example"], b"Subject: ack\r\n\r\nx\r\n")
    assert refused.value.recipients["gone@employer.example"][0] == 550
    assert len(smtp_sink.received()) == 2 and smtp_sink.failures == 2


def test_smtp_size_declared_too_big_552(smtp_source: tuple[SmtpSource, NewIds], store: RecordingStore) -> None:
    src, _ = smtp_source
    with smtplib.SMTP(src.host, src.port, timeout=10) as s:
        s.ehlo()
        code, text = s.mail("hr@employer.example", ["SIZE=500000"])
    assert code == 552 and text.startswith(b"5.3.4")
    assert store.count() == 0


def test_imap_reconnect_backs_off_while_the_server_is_down(
    dovecot: DovecotServer,
    store: RecordingStore,
    running: Callable[[ImapSource], threading.Thread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While Dovecot is down every failed attempt waits twice as long as the one before, up to the
    cap; once it is back the source reconnects, imports, and the back-off starts small again."""

    def delays() -> list[float]:
        return [float(m.group(1)) for r in caplog.records
                if (m := re.search(r"reconnecting in ([\d.]+)s", r.getMessage()))]

    caplog.set_level(logging.WARNING, logger="intake.sources.imap")
    new = NewIds()
    src = imap_source(dovecot, store, on_new=new, poll_seconds=600, backoff_initial=0.2, backoff_max=0.8)
    running(src)
    assert wait_until(lambda: src.polls >= 1, 10)
    dovecot.stop()
    try:
        assert wait_until(lambda: len(delays()) >= 5, 60), delays()
    finally:
        dovecot.start()
    assert delays()[:5] == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert wait_until(lambda: src.connects >= 2, 60), "no reconnect after the server came back"
    imap_append(dovecot, "INBOX", make_mail(9))
    assert new.wait(1, 30), "message after the reconnect not stored"
    seen = len(delays())
    dovecot.kick()  # one more drop after a good connection: the back-off was reset
    assert wait_until(lambda: len(delays()) > seen, 30)
    assert delays()[seen] == 0.2


def test_fax_number_pattern_and_sidecar_extension_are_configurable(
    tmp_path: Path, store: RecordingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[fax] sender_pattern and sidecar_extension as a site sets them; a sidecar wins over the name."""
    from intake.settings import load_settings

    cfg = tmp_path / "fax.toml"
    cfg.write_text(
        f'[paths]\nvar = "{tmp_path / "var"}"\n[fax]\nstable_seconds = 0.2\ndone_files = "keep"\n'
        "sender_pattern = 'from-(?P<number>\\d{6,15})-'\nsidecar_extension = \".meta\"\n",
        encoding="utf-8",
    )
    settings = load_settings(cfg)
    src = FaxDirSource.from_settings(settings.fax, settings.paths, store)
    inbox = settings.fax_inbox
    inbox.mkdir(parents=True)
    # The default pattern would take the date at the start of this name; the site's takes the number.
    (inbox / "20261125101400-from-2085550142-p2.tif").write_bytes(TIFF + b"named")
    (inbox / "q18-from-0012085550142-p1.tif").write_bytes(TIFF + b"sidecar wins")
    (inbox / "q18-from-0012085550142-p1.tif.meta").write_text("sender=+44 20 7123 4567\n")
    assert len(scan_until(src, 2)) == 2
    senders = {inc.fax_filename: inc.sender for inc in store.incoming()}
    assert senders == {
        "20261125101400-from-2085550142-p2.tif": "2085550142",
        "q18-from-0012085550142-p1.tif": "+442071234567",
    }
    assert (settings.fax_done / "q18-from-0012085550142-p1.tif.meta").exists()


def test_fax_sidecar_through_a_symlink_is_not_read(tmp_path: Path, faxdirs: tuple[Path, Path],
                                                  store: RecordingStore, caplog: pytest.LogCaptureFixture) -> None:
    """A sidecar that is a link to another file (whose number would become the reply target) is
    never read; the fax goes in without a sender (staff sees it) and the link stays where it is."""
    inbox, _ = faxdirs
    elsewhere = tmp_path / "secret.txt"
    elsewhere.write_text("sender=+1 900 555 0199\n")
    src = fax_source(store, faxdirs)
    (inbox / "fax000300.tif").write_bytes(TIFF + b"linked sidecar")
    (inbox / "fax000300.tif.txt").symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING, logger="intake.sources.faxdir"):
        assert len(scan_until(src, 1)) == 1
    assert store.incoming()[0].sender is None
    assert (inbox / "fax000300.tif.txt").is_symlink()
    assert "symbolic link" in caplog.text


def test_fax_file_that_is_a_symlink_or_fifo_is_never_read(tmp_path: Path, faxdirs: tuple[Path, Path],
                                                          store: RecordingStore) -> None:
    """A link in the inbox (to any file the gateway can read) is not taken as a fax, nor is a FIFO."""
    inbox, _ = faxdirs
    target = tmp_path / "keys.json"
    target.write_bytes(TIFF + b"not a fax")
    (inbox / "fax_+12085550142_20261125T101400.tif").symlink_to(target)
    os.mkfifo(inbox / "fax_+12085550143_20261125T101400.tif")
    src = fax_source(store, faxdirs, stable_seconds=0)
    for _ in range(3):
        assert src.scan_once() == []
    assert store.count() == 0 and target.exists()


def test_read_regular_refuses_links_and_fifos(tmp_path: Path) -> None:
    from intake.sources.faxdir import read_regular

    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo")
    assert read_regular(tmp_path / "real")[0] == b"data"
    with pytest.raises(OSError):
        read_regular(tmp_path / "link")
    with pytest.raises(OSError, match="not a regular file"):
        read_regular(tmp_path / "fifo")  # and without blocking on the open


@pytest.mark.parametrize(("name", "number"), [
    ("fax_+12085550142_20261125T101400.tif", "+12085550142"),
    ("fax-+442071234567-20261125T110000.pdf", "+442071234567"),
    ("fax_+12025550123.pdf", "+12025550123"),
    ("fax_+12085551009_20261125.tif", "+12085551009"),  # the date alone, no time
    ("fax000123.tif", None),  # HylaFAX's counter: the sidecar tells
    ("scan 20261125 +12085550142.pdf", None),  # not at the start: never searched for elsewhere
    ("copy of fax_+12085550142_20261125T101400.tif", None),
])
def test_default_sender_pattern_is_anchored_and_one_definition(name: str, number: str | None,
                                                               store: RecordingStore, tmp_path: Path) -> None:
    from intake.settings import FaxSettings
    from intake.sources.faxdir import DEFAULT_SENDER_PATTERN

    shipped = tomllib.loads((Path(__file__).parents[1] / "config" / "default.toml").read_text())["fax"]
    assert shipped["sender_pattern"] == FaxSettings().sender_pattern == DEFAULT_SENDER_PATTERN
    src = FaxDirSource(store, inbox=tmp_path, done=tmp_path, sender_pattern=shipped["sender_pattern"])
    assert src._sender_from_name(name) == number


@pytest.mark.parametrize("uidplus", [True, False])
def test_imap_without_move_copies_and_deletes(store: RecordingStore, uidplus: bool) -> None:
    """A server without MOVE (Dovecot told to advertise less): COPY, \\Deleted, then UID EXPUNGE
    (UIDPLUS) or EXPUNGE; a message already deleted by a person is expunged only by the latter."""
    caps = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT LIST-EXTENDED ESEARCH"
    base = Path(tempfile.mkdtemp(prefix="coc-dovecot-"))
    base.chmod(0o755)
    server = DovecotServer(base=base)
    try:
        server.setup()
        with server.config.open("a", encoding="utf-8") as conf:
            conf.write(f"protocol imap {{\n  imap_capability = {caps}{' UIDPLUS' if uidplus else ''}\n}}\n")
        server.start()
        for n in range(2):
            imap_append(server, "INBOX", make_mail(n))
        imap_append(server, "INBOX", make_mail(7), flags=("\\Deleted",))  # someone's, not ours to expunge
        src = imap_source(server, store)
        try:
            ids = src.poll_once()
            assert src._client is not None and not src._client.has_capability("MOVE")
            assert src._client.has_capability("UIDPLUS") is uidplus
        finally:
            src.close()
        assert len(ids) == 2 and store.count() == 2
        assert imap_count(server, "Processed") == 2
        assert imap_count(server, "INBOX") == (1 if uidplus else 0)
        assert len(imap_uids(server, "Processed", ["KEYWORD", STORED_KEYWORD])) == 2
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
