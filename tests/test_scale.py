"""Scale-out on PostgreSQL: procrastinate jobs, `coc-intake worker` processes, source holders under advisory locks.

Everything real: the machine's PostgreSQL (a database per test), Dovecot, an aiosmtpd sink as the
relay, Tesseract, and the gateway's own processes started as an operator would start them (and
SIGKILLed as a machine could die).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import psycopg
import pytest

from intake.crypto import add_key
from intake.isolation import ExtractionPool
from intake.jobs import EXTRACT, Jobs
from intake.pipeline import Context
from intake.settings import Settings, load_settings
from intake.sources.holder import AdvisoryLock, SourceHolder, libpq_url
from intake.store import Incoming, Store
from intake.store.migrate import ensure_job_schema, has_job_schema
from tests import faxgen, mailgen
from tests.dnsstub import loopback_dns
from tests.gateway import imap_section, relay_section, wait_for
from tests.servers import (  # noqa: F401
    DovecotServer,
    SmtpSink,
    dovecot,
    free_port,
    imap_append,
    imap_count,
    smtp_sink,
    wait_for_port,
)
from tests.store_fixtures import pg_url, pg_user  # noqa: F401
from tests.synth import labelled_lines, make_request

# -- configuration and processes --------------------------------------------------------------


def write_config(path: Path, shared: Path, *, url: str, role: str, sink: SmtpSink | None,
                 dovecot: DovecotServer | None = None, concurrency: int = 2) -> Path:  # noqa: F811
    """A config for one process; every process shares the database, the keyring and the fax/mail folders."""
    holder = role == "holder"
    keys = shared / "keys.json"
    if not keys.exists():
        shared.mkdir(parents=True, exist_ok=True)
        add_key(keys)
    imap = imap_section(dovecot) if dovecot is not None and holder else ""
    relay = relay_section(sink) if sink is not None else ""
    path.write_text(f"""
[store]
url = "{url}"

[paths]
var = "{path.parent}/var-{path.stem}"
fax_inbox = "{shared}/fax/inbox"
fax_done = "{shared}/fax/done"
fax_outbox = "{shared}/fax/outbox"
mail_sent = "{shared}/mail/sent"

[smtp_listener]
enabled = {str(holder).lower()}
port = {free_port()}
accepted_recipients = ["certificate@localhost"]

[fax]
enabled = {str(holder).lower()}
stable_seconds = 0.5
poll_seconds = 0.5
{imap}{relay}
[pipeline]
workers = 1
max_attempts = 5

[web]
enabled = false

[encryption]
key_file = "{keys}"

{loopback_dns(TRUST)}
[workers]
dispatch = "procrastinate"
concurrency = {concurrency}
lock_poll_seconds = 1
sweep_seconds = 3
heartbeat_seconds = 1
stalled_seconds = 5
stale_sending_seconds = 15
retry_wait_seconds = 1
shutdown_seconds = 10
""", encoding="utf-8")
    return path


# Generated senders on loopback cannot pass DMARC: the verdict is recorded and the replies go out
# (only where the settings have sender checks).
TRUST = "[trust]\nflag_unverified = false\n"


class Proc:
    """`coc-intake run` (a source holder) or `coc-intake worker` as a child process in its own group."""

    def __init__(self, config: Path, command: list[str]) -> None:
        self.config = config
        self.settings = load_settings(config)
        self.log = config.with_suffix(".log")
        env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "--config", str(config), *command],
                                         cwd=config.parent, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the process and its extraction children, as a dying machine would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2500:] if self.log.exists() else ""


def lock_holders(url: str) -> dict[str, int]:
    """Which process holds which source's advisory lock now: source name -> pid (from application_name)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() "
            "AND a.application_name LIKE 'coc-intake %'").fetchall()
    out: dict[str, int] = {}
    for (name,) in rows:
        _, pid, source = name.split(" ", 2)
        out[source.split(":", 1)[0]] = int(pid)
    return out


# -- the advisory lock and the holder ---------------------------------------------------------


class _Recorder:
    """A polled source that records when it runs and when it is told to stop."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self.started.set()
        stop.wait()
        self.stopped.set()


def test_one_lock_one_holder(pg_url: str) -> None:  # noqa: F811
    a, b, other = AdvisoryLock(pg_url, "imap:x"), AdvisoryLock(pg_url, "imap:x"), AdvisoryLock(pg_url, "fax:/y")
    try:
        assert a.try_acquire() and a.alive()
        assert not b.try_acquire() and not b.held
        assert other.try_acquire(), "another source's lock is independent"
        a.release()
        assert not a.alive()
        assert b.try_acquire() and b.alive()
        assert not a.try_acquire()
    finally:
        for lock in (a, b, other):
            lock.release()


_CHILD = """
import sys, time
from intake.sources.holder import AdvisoryLock
lock = AdvisoryLock(sys.argv[1], "imap:takeover")
assert lock.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_holder_takes_over_when_the_holder_process_dies(pg_url: str) -> None:  # noqa: F811
    child = subprocess.Popen([sys.executable, "-c", _CHILD, pg_url], stdout=subprocess.PIPE)
    stop = threading.Event()
    sources: list[_Recorder] = []

    def make() -> _Recorder:
        sources.append(_Recorder())
        return sources[-1]

    holder = SourceHolder(pg_url, "imap:takeover", make, poll_seconds=0.5)
    thread = threading.Thread(target=holder.run, args=(stop,), daemon=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"held"
        thread.start()
        time.sleep(2.0)  # four tries while the other process holds the lock
        assert not holder.holding.is_set() and not sources
        killed = time.monotonic()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert holder.holding.wait(10), "the lock of a dead process was not taken over"
        assert sources and sources[0].started.wait(5)
        # Within the poll interval, plus the time PostgreSQL needs to notice the closed socket.
        assert time.monotonic() - killed < 0.5 + 3.0
        assert lock_holders(pg_url) == {"imap": os.getpid()}
    finally:
        child.kill()
        stop.set()
        thread.join(timeout=10)
    assert sources[0].stopped.is_set() and not holder.holding.is_set()


def test_holder_stops_polling_when_its_lock_connection_is_lost(pg_url: str) -> None:  # noqa: F811
    stop = threading.Event()
    sources: list[_Recorder] = []

    def make() -> _Recorder:
        sources.append(_Recorder())
        return sources[-1]

    holder = SourceHolder(pg_url, "fax:/lost", make, poll_seconds=0.5)
    thread = threading.Thread(target=holder.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert holder.holding.wait(10) and sources[0].started.wait(5)
        assert holder.takeovers == 1
        # The database ends the holder's session (a network cut or a restart looks the same).
        with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name LIKE %s", (f"coc-intake {os.getpid()} fax:/lost%",))
        assert sources[0].stopped.wait(3), "the source kept polling without its lock"
        # Nobody else wants it: the same process takes it again with a new connection.
        assert wait_for(lambda: holder.takeovers == 2 and holder.holding.is_set(), timeout=10)
        assert len(sources) == 2 and sources[1].started.wait(5)
    finally:
        stop.set()
        thread.join(timeout=10)


# -- jobs: duplicates and stalled jobs -------------------------------------------------------


def _mail(req: dict, rng: random.Random, *, sender: str, message_id: str) -> bytes:
    body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
    return mailgen.thunderbird(sender=sender, to="certificate@localhost", subject="Certificate of coverage request",
                               text=body, html=None, attachments=[], message_id=message_id)


def test_a_job_run_twice_or_stalled_makes_one_request_and_one_reply(
        tmp_path: Path, pg_url: str, smtp_sink: SmtpSink) -> None:  # noqa: F811
    config = write_config(tmp_path / "w.toml", tmp_path / "shared", url=pg_url, role="worker", sink=smtp_sink)
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    assert not has_job_schema(store.engine)
    assert ensure_job_schema(store.engine) and not ensure_job_schema(store.engine)
    pool = ExtractionPool(1, timeout=120, memory_mb=2048)
    jobs = Jobs(settings, Context(store, settings, pool))
    rng = random.Random(5)
    ids = []
    for i in range(3):
        raw = _mail(make_request(rng, kind="employee"), rng, sender=f"dup{i}@twice.example.com",
                    message_id=f"<dup-{i}@twice.example.com>")
        sid, created = store.store_submission(Incoming(channel="smtp", raw=raw, sender=f"dup{i}@twice.example.com",
                                                       received_at=datetime.now(UTC), message_id=f"<dup-{i}@x>"))
        assert created
        ids.append(sid)

    async def scenario() -> dict[int, list[str]]:
        async with jobs.app.open_async():
            manager = jobs.app.job_manager
            # 1. A worker dies in the middle of two jobs: it took them (doing) and its heartbeat stopped.
            assert await jobs.defer_submission_async(ids[1])
            assert await jobs.defer_submission_async(ids[2])
            dead = await manager.register_worker()
            for _ in range(2):
                taken = await manager.fetch_job(queues=None, worker_id=dead)
                assert taken is not None and taken.task_name == EXTRACT
            # Meanwhile the sweep deferred submission 3 again (allowed: its job is not waiting).
            assert await jobs.defer_submission_async(ids[2])
            assert await jobs.retry_stalled() == 0, "a worker with a fresh heartbeat is not dead"
            await jobs.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %(id)s",
                id=dead)
            # Submission 2's job runs again; submission 3's is superseded by the waiting one.
            assert await jobs.retry_stalled() == 1
            # 2. The queueing lock: a second deferral while one waits is refused, and that is no error.
            assert await jobs.defer_submission_async(ids[0])
            assert not await jobs.defer_submission_async(ids[0])
            # ... but the job library may still run a submission twice: a job deferred without the lock.
            await jobs.extract_task.defer_async(submission_id=ids[0])
            # Run everything there is, as a worker would.
            await jobs.app.run_worker_async(queues=jobs.queues, wait=False, concurrency=2,
                                            install_signal_handlers=False, listen_notify=False)
            out: dict[int, list[str]] = {}
            for job in await manager.list_jobs_async(task=EXTRACT):
                status = str(getattr(job.status, "value", job.status))
                out.setdefault(job.task_kwargs["submission_id"], []).append(status)
            return out

    try:
        statuses = asyncio.run(scenario())
        # (The periodic sweep may have added a no-op job for a submission whose job was running.)
        assert statuses[ids[0]].count("succeeded") >= 2 and "failed" not in statuses[ids[0]]
        assert "succeeded" in statuses[ids[1]] and "failed" not in statuses[ids[1]]
        assert "succeeded" in statuses[ids[2]] and statuses[ids[2]].count("failed") == 1
        for sid in ids:
            assert len(store.requests_of(sid)) == 1
            replies = store.replies_of(sid)
            assert [r.state for r in replies] == ["sent"], [(e.kind, e.new) for e in store.events_of(submission_id=sid)]
            asyncio.run(_send_again(jobs, replies[0].id))  # a send job run twice sends nothing more
        assert sorted(m.rcpt_tos[0] for m in smtp_sink.received()) == [f"dup{i}@twice.example.com" for i in range(3)]
    finally:
        store.dispose()


async def _send_again(jobs: Jobs, outbox_id: int) -> None:
    await jobs._send(outbox_id)


# -- the proof: 3 workers, 2 source holders, 500 messages, one of each killed ------------------


def test_three_workers_two_holders_500_messages_one_of_each_killed(  # noqa: PLR0915  (one end-to-end scenario: its steps in the order the user takes them)
        tmp_path: Path, pg_url: str, dovecot: DovecotServer, smtp_sink: SmtpSink) -> None:  # noqa: F811
    rng = random.Random(2026)
    shared = tmp_path / "shared"
    (shared / "fax" / "inbox").mkdir(parents=True)
    n_imap, n_smtp, n_fax = 440, 50, 10
    imap_mails = []
    for i in range(n_imap):
        req = make_request(rng, kind="employee")
        imap_mails.append(_mail(req, rng, sender=f"hr{i}@imap.example.com", message_id=f"<scale-{i}@imap.example.com>"))
    smtp_mails = []
    for i in range(n_smtp):
        req = make_request(rng, kind="employee")
        sender = f"hr{i}@smtp.example.com"
        smtp_mails.append((sender, _mail(req, rng, sender=sender, message_id=f"<scale-{i}@smtp.example.com>")))
    fax_numbers = [f"+1208555{1000 + i}" for i in range(n_fax)]
    faxes = []
    for number in fax_numbers:
        req = make_request(rng, kind="employee")
        req["employer"]["contact_email"] = req["worker"]["email"] = req["confirmation_email"] = None
        faxes.append((number, faxgen.tiff_bytes(faxgen.fax_request(req, rng, "normal"))))

    # Half the IMAP mail waits before anything runs; the rest arrives while it runs (and across the kill).
    for raw in imap_mails[:200]:
        imap_append(dovecot, "INBOX", raw, create=False)
    for number, tiff in faxes:
        part = shared / "fax" / "inbox" / f"fax_{number}_20261125.tif.part"
        part.write_bytes(tiff)
        part.rename(part.with_suffix(""))

    holders = [Proc(write_config(tmp_path / f"holder{i}.toml", shared, url=pg_url, role="holder", sink=smtp_sink,
                                 dovecot=dovecot), ["run"]) for i in range(2)]
    workers = [Proc(write_config(tmp_path / f"worker{i}.toml", shared, url=pg_url, role="worker", sink=smtp_sink),
                    ["worker", "--name", f"w{i}"]) for i in range(3)]
    everyone = holders + workers
    late = threading.Thread(target=lambda: [imap_append(dovecot, "INBOX", raw, create=False)
                                            for raw in imap_mails[200:]], daemon=True)

    def logs() -> str:
        return "\n".join(f"== {p.config.stem}\n{p.tail()}" for p in everyone)

    try:
        for h in holders:
            wait_for_port("127.0.0.1", int(h.settings.smtp_listener.port), timeout=60)
        late.start()
        for i, (sender, raw) in enumerate(smtp_mails):  # SMTP listeners run in every holder
            with smtplib.SMTP("127.0.0.1", int(holders[i % 2].settings.smtp_listener.port), timeout=30) as s:
                s.sendmail(sender, ["certificate@localhost"], raw)
        assert wait_for(lambda: {"imap", "fax"} <= set(lock_holders(pg_url)), timeout=30), logs()

        # In the middle: kill the process holding the IMAP folder and one worker.
        assert wait_for(lambda: len(smtp_sink.received()) >= 150, timeout=300), logs()
        imap_pid = lock_holders(pg_url)["imap"]
        victim = next(h for h in holders if h.pid == imap_pid)
        survivor = next(h for h in holders if h is not victim)
        victim.kill()
        workers[0].kill()
        assert wait_for(lambda: lock_holders(pg_url).get("imap") == survivor.pid, timeout=15), logs()
        assert wait_for(lambda: lock_holders(pg_url).get("fax") == survivor.pid, timeout=15), logs()

        late.join(timeout=120)
        fax_out = shared / "fax" / "outbox"
        done = wait_for(lambda: len(smtp_sink.received()) >= n_imap + n_smtp
                        and len(list(fax_out.glob("*.pdf"))) >= n_fax, timeout=400)
        assert done, (len(smtp_sink.received()), logs())
        # A reply the killed process had handed over but not settled is `sending` until the sweep
        # finds it stale (15 s): settled as sent, or, not handed over, sent again (a duplicate below).
        assert wait_for(lambda: _reply_states(holders[0].settings) == {"sent": n_imap + n_smtp + n_fax},
                        timeout=90), (_reply_states(holders[0].settings), logs())
        time.sleep(5)  # a duplicate would arrive now (the sweep runs every 3 s)
    finally:
        codes = {p.config.stem: p.stop() for p in everyone}
    # SIGTERM stopped the others gracefully.
    killed = {victim.config.stem, "worker0"}
    assert {name: code for name, code in codes.items() if name not in killed} == {
        name: 0 for name in codes if name not in killed}, logs()

    # Every message: exactly one request, exactly one reply, nothing lost, nothing twice.
    received = smtp_sink.received()
    recipients = Counter(m.rcpt_tos[0] for m in received)
    expected = {f"hr{i}@imap.example.com" for i in range(n_imap)} | {f"hr{i}@smtp.example.com" for i in range(n_smtp)}
    assert set(recipients) == expected and max(recipients.values()) == 1, [r for r, n in recipients.items() if n > 1]
    threads = Counter(message_from_bytes(m.content, policy=default_policy)["In-Reply-To"] for m in received)
    assert len(threads) == n_imap + n_smtp
    fax_replies = sorted(p.name.split("_")[0] for p in (shared / "fax" / "outbox").glob("*.pdf"))
    assert fax_replies == sorted(fax_numbers)
    store = Store.from_settings(holders[0].settings)
    try:
        counts = {table: {state: n for state, n in states.items() if n}
                  for table, states in store.counts_by_state().items()}
        assert sum(counts["submissions"].values()) == n_imap + n_smtp + n_fax, counts
        assert set(counts["submissions"]) <= {"done", "needs_review"}, counts
        assert counts["replies"] == {"sent": n_imap + n_smtp + n_fax}, counts
        for sid in store.submission_ids():
            assert len(store.requests_of(sid)) == 1, sid
            assert [r.state for r in store.replies_of(sid)] == ["sent"], sid
    finally:
        store.dispose()
    assert imap_count(dovecot, "Processed") == n_imap and imap_count(dovecot, "INBOX") == 0
    assert "holds it now" in survivor.tail() or "holds it now" in survivor.log.read_text()
    # The killed worker's running jobs were run again (or superseded) by the survivors' sweep.
    survivors_log = "".join(w.log.read_text(errors="replace") for w in workers[1:])
    assert "of a dead worker" in survivors_log, survivors_log[-3000:]
    assert "Traceback" not in survivors_log, survivors_log[-3000:]


def _reply_states(settings: Settings) -> dict[str, int]:
    """How many replies are in each outbox state now (the empty ones left out)."""
    store = Store.from_settings(settings)
    try:
        return {state: n for state, n in store.counts_by_state()["replies"].items() if n}
    finally:
        store.dispose()


def test_doctor_checks_the_job_queue(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    from intake.doctor import check_job_queue

    config = write_config(tmp_path / "d.toml", tmp_path / "shared", url=pg_url, role="worker", sink=None)
    settings = load_settings(config)
    missing = check_job_queue(settings)
    assert missing is not None and not missing.ok and "db upgrade" in missing.detail
    store = Store.from_settings(settings)
    try:
        store.upgrade()
        ensure_job_schema(store.engine)
    finally:
        store.dispose()
    present = check_job_queue(settings)
    assert present is not None and present.ok and "0 worker(s) alive" in present.detail
    inprocess = settings.model_copy(update={"workers": settings.workers.model_copy(update={"dispatch": "inprocess"})})
    assert check_job_queue(inprocess) is None


def test_procrastinate_with_sqlite_or_a_worker_without_it_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pydantic import ValidationError

    from intake.cli import main

    sqlite = tmp_path / "sqlite.toml"
    sqlite.write_text(f'[paths]\nvar = "{tmp_path}/var"\n[workers]\ndispatch = "procrastinate"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"workers.dispatch = \"procrastinate\" needs a PostgreSQL store.url"):
        load_settings(sqlite)
    assert main(["--config", str(sqlite), "worker"]) == 2
    assert "needs a PostgreSQL store.url" in capsys.readouterr().err
    inprocess = tmp_path / "inprocess.toml"
    inprocess.write_text(f'[paths]\nvar = "{tmp_path}/var"\n', encoding="utf-8")
    assert main(["--config", str(inprocess), "worker"]) == 2
    assert 'dispatch = "procrastinate"' in capsys.readouterr().err


def test_db_upgrade_applies_the_job_schema_on_postgresql(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    import io

    from intake.store.__main__ import db_command

    config = write_config(tmp_path / "u.toml", tmp_path / "shared", url=pg_url, role="worker", sink=None)
    out = io.StringIO()
    assert db_command("upgrade", config, out=out) == 0
    assert "procrastinate job schema applied" in out.getvalue()
    assert db_command("upgrade", config, out=out) == 0 and "procrastinate job schema present" in out.getvalue()
    store = Store.from_settings(load_settings(config))
    try:
        assert has_job_schema(store.engine) and "procrastinate_jobs" in store.table_names()
    finally:
        store.dispose()
