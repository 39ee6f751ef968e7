"""Faults while mail flows: SIGKILL at random moments, IMAP links cut, the relay down, the database restarted.

Each scenario is a plain function (used here in a bounded form for CI and by ``bench/faults.py`` with
the full numbers): messages flow from a real Dovecot through the daemon (``coc-intake run``, its own
process) to a real aiosmtpd sink, and afterwards every message is counted in the store and at the
sink: 0 lost, 0 duplicate requests, 0 duplicate replies (``tests.gateway.outcome``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import shutil
import smtplib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from intake.crypto import new_key, new_key_id
from tests.gateway import (
    Feeder,
    GatewayProcess,
    Marked,
    Outcome,
    ReplyTracker,
    marked_mails,
    outcome,
    reply_refs,
    wait_for,
    write_config,
)
from tests.pgserver import PrivatePostgres, running_postgres
from tests.servers import DovecotServer, SinkMessage, SmtpSink, imap_count, running_dovecot
from tests.tcpproxy import running_proxy

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Run:
    """What a scenario leaves behind: the count, and what it saw on the way (for assertions)."""

    outcome: Outcome
    seconds: float
    notes: dict[str, object] = field(default_factory=dict)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder the daemon's store and config live in (removed after)."""
    base = Path(tempfile.mkdtemp(prefix="coc-faults-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait_replies(sinks: list[SmtpSink], mails: list[Marked], gw: GatewayProcess, timeout: float,
                  stall: float = 90.0) -> None:
    """Wait until every message has a reply at one of the sinks, then a little for stray duplicates.

    Gives up early when no reply arrived for ``stall`` seconds, so that a lost reply shows in the
    count (and in the failure message) instead of as a long wait.
    """
    wanted = {m.message_id for m in mails}
    tracker = ReplyTracker(*sinks)
    deadline = time.monotonic() + timeout
    seen, progress = -1, time.monotonic()
    while time.monotonic() < deadline:
        refs = tracker.refs()
        if all(refs[w] for w in wanted):
            time.sleep(3)  # a duplicate would arrive now
            return
        if sum(refs.values()) != seen:
            seen, progress = sum(refs.values()), time.monotonic()
        elif time.monotonic() - progress > stall:
            break
        time.sleep(1.0)
    missing = sorted(wanted - set(reply_refs(_received(sinks))))
    raise AssertionError(f"{len(missing)} message(s) not answered: {missing[:5]}\n{_replies_of(gw, missing)}\n"
                         f"{gw.tail()}")


def _replies_of(gw: GatewayProcess, message_ids: list[str]) -> str:
    """What the store says about the replies of these messages (for a failure message)."""
    store = gw.store()
    try:
        lines = []
        for sid in store.submission_ids():
            sub = store.get_submission(sid)
            if sub.message_id in message_ids:
                for r in store.replies_of(sid):
                    lines.append(f"{sub.message_id}: submission {sid} {sub.state}, reply {r.id} {r.state} "
                                 f"attempts {r.attempts} error {r.last_error!r}")
                if not store.replies_of(sid):
                    lines.append(f"{sub.message_id}: submission {sid} {sub.state}, no reply queued")
        return "\n".join(lines[:20])
    except Exception as exc:  # noqa: BLE001  (the store may be the thing that is down)
        return f"(store: {type(exc).__name__})"
    finally:
        store.dispose()


def _received(sinks: list[SmtpSink]) -> list[SinkMessage]:
    return [m for s in sinks for m in s.received()]


@contextlib.contextmanager
def _keys() -> Iterator[None]:
    """A keyring in the environment (the daemon inherits it): with PostgreSQL a missing key is an error."""
    if os.environ.get("COC_INTAKE_KEYS"):
        yield
        return
    os.environ["COC_INTAKE_KEYS"] = f"{new_key_id()}:{base64.urlsafe_b64encode(new_key()).decode()}"
    try:
        yield
    finally:
        del os.environ["COC_INTAKE_KEYS"]


# --------------------------------------------------------------------------- scenarios


def sigkill_run(base: Path, dovecot: DovecotServer, sink: SmtpSink, *, count: int, kills: int, seed: int = 1,
                per_second: float = 20.0, max_gap: float = 8.0, log: Log = _quiet) -> Run:
    """``count`` messages appended at ``per_second`` while the daemon is SIGKILLed ``kills`` times,
    each after a random (seeded) 1..``max_gap`` seconds of running, and restarted at once."""
    rng = random.Random(seed)
    mails = marked_mails(count, tag=f"kill{seed}", seed=seed)
    gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink))
    t0 = time.monotonic()
    feeder = Feeder(dovecot, [(m.message_id, m.raw) for m in mails], per_second=per_second).start()
    moments = []
    try:
        for k in range(kills):
            gw.start()
            gap = rng.uniform(1.0, max_gap)
            time.sleep(gap)
            moments.append(round(gap, 2))
            gw.kill()
            log(f"kill {k + 1}/{kills} after {gap:.1f} s: {len(sink.received())} replies so far")
        gw.start()
        feeder.join(timeout=count / max(per_second, 1) + 120)
        _wait_replies([sink], mails, gw, timeout=120 + 2.0 * count)
    finally:
        gw.stop()
    result = gw.outcome(sink.received(), mails)
    return Run(result, time.monotonic() - t0, {"kill_after_seconds": moments,
                                                "processed": imap_count(dovecot, "Processed")})


def imap_cut_run(base: Path, dovecot: DovecotServer, sink: SmtpSink, *, count: int, cuts: int = 2,
                 log: Log = _quiet) -> Run:
    """IMAP through a cutting proxy: cut in the middle of a FETCH literal, then ``cuts`` times in the
    middle of an IDLE (each followed by new mail), and once right after the IDLE continuation."""
    mails = marked_mails(count, tag="cut")
    first, rest = mails[: count // 2], mails[count // 2 :]
    chunks = [rest[i :: cuts + 1] for i in range(cuts + 1)]
    t0 = time.monotonic()
    with running_proxy(dovecot.host, dovecot.port) as proxy:
        gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink, imap_port=proxy.port))
        Feeder(dovecot, [(m.message_id, m.raw) for m in first]).start().join()
        # The first batch FETCH: the size query and then the bodies; cut 6 kB into the answer.
        proxy.cut_on("FETCH", server_bytes=6000)
        try:
            gw.start()
            assert wait_for(lambda: not proxy.armed, timeout=60), "the daemon never sent FETCH"
            log(f"cut mid-FETCH ({proxy.cuts} cut)")
            _wait_replies([sink], first, gw, timeout=120 + 2.0 * len(first))
            idles = 0
            for i, chunk in enumerate(chunks):
                def idling(n: int = idles) -> bool:
                    return proxy.seen("IDLE") > n

                assert wait_for(idling, timeout=60), "the daemon never went into IDLE"
                time.sleep(0.5)
                if i < cuts:
                    dropped = proxy.cut_now()
                    log(f"cut mid-IDLE: {dropped} connection(s)")
                else:
                    # The next IDLE is cut right after the server's "+ idling" continuation.
                    proxy.cut_on("IDLE", server_bytes=len(b"+ idling\r\n"))
                    proxy.cut_now()
                idles = proxy.seen("IDLE")
                Feeder(dovecot, [(m.message_id, m.raw) for m in chunk]).start().join()
                _wait_replies([sink], first + [m for c in chunks[: i + 1] for m in c], gw,
                              timeout=120 + 2.0 * len(chunk))
            connections = proxy.connections
        finally:
            gw.stop()
    result = gw.outcome(sink.received(), mails)
    return Run(result, time.monotonic() - t0, {"cuts": proxy.cuts, "connections": connections,
                                                "inbox_left": imap_count(dovecot, "INBOX")})


def relay_down_run(base: Path, dovecot: DovecotServer, *, count: int, down_seconds: float, per_second: float = 10.0,
                   log: Log = _quiet) -> Run:
    """The relay stops after a quarter of the replies and comes back on the same port ``down_seconds``
    later, while mail keeps arriving: every reply is retried and arrives exactly once."""
    mails = marked_mails(count, tag="relay")
    first = SmtpSink()
    first.start()
    sinks = [first]
    t0 = time.monotonic()
    gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=first))
    feeder = Feeder(dovecot, [(m.message_id, m.raw) for m in mails], per_second=per_second).start()
    try:
        gw.start()
        assert wait_for(lambda: len(first.received()) >= max(1, count // 4), timeout=120 + count), gw.tail()
        first.stop()
        down_at = time.monotonic()
        log(f"relay down after {len(first.received())} replies")
        time.sleep(down_seconds)
        store = gw.store()
        try:
            waiting = store.counts_by_state()["replies"]
        finally:
            store.dispose()
        second = SmtpSink(port=first.port)
        second.start()
        sinks.append(second)
        log(f"relay back after {time.monotonic() - down_at:.0f} s; replies waiting: {waiting}")
        feeder.join(timeout=count / per_second + 120)
        _wait_replies(sinks, mails, gw, timeout=120 + 2.0 * count)
    finally:
        gw.stop()
        for s in sinks[1:]:
            s.stop()
    store = gw.store()
    try:
        result = outcome(store, _received(sinks), mails)
        retried = store.counts_by_state()["replies"]
    finally:
        store.dispose()
    return Run(result, time.monotonic() - t0, {"waiting_while_down": waiting, "final": retried,
                                                "after_restart": len(sinks[1].received())})


@_keys()
def database_restart_run(base: Path, dovecot: DovecotServer, sink: SmtpSink, pg: PrivatePostgres, *, count: int,
                         down_seconds: float, log: Log = _quiet) -> Run:
    """The daemon on a private PostgreSQL that is stopped for ``down_seconds`` and started again.

    While it is down: the SMTP listener answers 4xx, IMAP messages stay in the INBOX, nothing new is
    acknowledged. After: everything flows again without a restart of the daemon.
    """
    mails = marked_mails(count + 1, tag="db")
    smtp_mail, mails = mails[-1], mails[:-1]
    before, during = mails[: count // 2], mails[count // 2 :]
    t0 = time.monotonic()
    gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink, store_url=pg.url))
    notes: dict[str, object] = {}
    try:
        gw.start()
        Feeder(dovecot, [(m.message_id, m.raw) for m in before]).start().join()
        _wait_replies([sink], before[: max(1, len(before) // 2)], gw, timeout=120 + 2.0 * len(before))
        processed = imap_count(dovecot, "Processed")
        replies = len(sink.received())
        pg.stop("fast")
        log(f"database down ({replies} replies so far)")
        down_at = time.monotonic()
        Feeder(dovecot, [(m.message_id, m.raw) for m in during]).start().join()
        time.sleep(1.5)
        with pytest.raises(smtplib.SMTPDataError) as refused, \
                smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
            s.sendmail(smtp_mail.sender, ["certificate@localhost"], smtp_mail.raw)
        notes["smtp_while_down"] = f"{refused.value.smtp_code} {refused.value.smtp_error!r}"
        time.sleep(max(0.0, down_seconds - (time.monotonic() - down_at)))
        notes["inbox_while_down"] = imap_count(dovecot, "INBOX")
        notes["moved_while_down"] = imap_count(dovecot, "Processed") - processed
        notes["alive_while_down"] = gw.proc is not None and gw.proc.poll() is None
        pg.start()
        log(f"database back after {time.monotonic() - down_at:.0f} s")
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:  # the sending MTA tries again
            s.sendmail(smtp_mail.sender, ["certificate@localhost"], smtp_mail.raw)
        _wait_replies([sink], [*mails, smtp_mail], gw, timeout=180 + 2.0 * count)
    finally:
        gw.stop()
    result = gw.outcome(sink.received(), [*mails, smtp_mail])
    return Run(result, time.monotonic() - t0, notes)


@_keys()
def sending_during_outage_run(base: Path, dovecot: DovecotServer, sink: SmtpSink, pg: PrivatePostgres,
                              log: Log = _quiet) -> Run:
    """The database goes down while a reply is with a slow relay (between `sending` and handed over):
    once it is back, the reply must still go out, once, without a restart of the daemon.

    The relay's timeout is long (600 s), so a sender that waits on the half-sent message instead of
    dropping it does not get the reply out in time either.
    """
    mails = marked_mails(1, tag="slow")
    sink.rcpt_delay = 4.0
    t0 = time.monotonic()
    gw = GatewayProcess(base, write_config(base, dovecot=dovecot, sink=sink, store_url=pg.url, relay_timeout=600))
    try:
        gw.start()
        Feeder(dovecot, [(m.message_id, m.raw) for m in mails]).start().join()
        assert sink.rcpt_seen.wait(120), gw.tail()
        pg.stop("fast")
        log("database down while the relay holds RCPT")
        time.sleep(6)
        sink.rcpt_delay = 0.0
        pg.start()
        log("database back")
        _wait_replies([sink], mails, gw, timeout=120)
        log("replied")
    finally:
        gw.stop()
        log("daemon stopped")
        sink.rcpt_delay = 0.0
    result = gw.outcome(sink.received(), mails)
    return Run(result, time.monotonic() - t0)


# --------------------------------------------------------------------------- CI-bounded tests


def _check(run: Run) -> None:
    assert run.outcome.clean, run.outcome.line() + f"\n{run.outcome}"
    o = run.outcome
    assert o.submissions == o.messages and o.requests + len(o.to_staff) == o.messages, o.line()


@pytest.fixture
def dove() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink()
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    with running_postgres() as server:
        yield server


def test_sigkill_at_random_moments(scratch: Path, dove: DovecotServer, sink: SmtpSink) -> None:
    run = sigkill_run(scratch, dove, sink, count=120, kills=5, seed=3, per_second=15, max_gap=4)
    _check(run)
    assert imap_count(dove, "Processed") == 120 and imap_count(dove, "INBOX") == 0


def test_imap_cut_mid_fetch_and_mid_idle(scratch: Path, dove: DovecotServer, sink: SmtpSink) -> None:
    run = imap_cut_run(scratch, dove, sink, count=40, cuts=2)
    _check(run)
    assert run.notes["cuts"] >= 4, run.notes  # type: ignore[operator]
    assert run.notes["connections"] >= 5, run.notes  # type: ignore[operator]
    assert run.notes["inbox_left"] == 0


def test_relay_down_then_back(scratch: Path, dove: DovecotServer) -> None:
    run = relay_down_run(scratch, dove, count=40, down_seconds=8, per_second=8)
    _check(run)
    waiting = run.notes["waiting_while_down"]
    assert isinstance(waiting, dict) and waiting["failed"] + waiting["queued"] + waiting["sending"] > 0, waiting
    assert run.notes["after_restart"], run.notes


def test_database_restart(scratch: Path, dove: DovecotServer, sink: SmtpSink, pg: PrivatePostgres) -> None:
    run = database_restart_run(scratch, dove, sink, pg, count=30, down_seconds=6)
    _check(run)
    assert str(run.notes["smtp_while_down"]).startswith("451"), run.notes
    assert run.notes["inbox_while_down"] == 15 and run.notes["moved_while_down"] == 0, run.notes
    assert run.notes["alive_while_down"] is True


def test_reply_in_flight_when_the_database_stops(scratch: Path, dove: DovecotServer, sink: SmtpSink,
                                                  pg: PrivatePostgres) -> None:
    run = sending_during_outage_run(scratch, dove, sink, pg)
    _check(run)
