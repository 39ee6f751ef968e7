"""`coc-intake run`: every source, the pipeline and the outbox in one process (or, with procrastinate, the sources).

The store is the truth and the queue here only a hint: sources store first and then call
`notify`; worker threads take ids from the queue and run the stages; a periodic sweep of the store
picks up whatever a crash or a lost notification left behind. Killing the process at any moment
therefore loses nothing, and the conditional state moves of the store make a second run of a stage
harmless.
"""

from __future__ import annotations

import functools
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from intake.faxout import follow_fax_jobs
from intake.isolation import ExtractionPool
from intake.pipeline import Context
from intake.pipeline.dispatch import process_submission, unfinished
from intake.pipeline.send import send_taken
from intake.private import make_private_dir
from intake.settings import Settings
from intake.store import Store
from intake.store.states import ReplyChannel

log = logging.getLogger("intake.daemon")

OUTBOX_SENDERS = 4  # relay sessions at once (each sends its share of a batch, one reply after another)
OUTBOX_BATCH = 32  # replies taken for sending in one transaction

__all__ = ["Gateway", "SourceGateway", "process_submission", "run", "wait_until"]


class _Service:
    """What both kinds of `run` process share: folders and schema at start, the SMTP listener and the
    review page, stopping in order, and the signals that stop it."""

    settings: Settings
    store: Store

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.from_settings(settings)
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stoppers: list[Callable[[], None]] = []

    def start(self) -> None:
        raise NotImplementedError

    def banner(self) -> str:
        raise NotImplementedError

    def _prepare(self) -> None:
        s = self.settings
        for folder in (s.paths.var, s.fax_inbox, s.fax_done, s.fax_outbox, s.mail_sent):
            make_private_dir(folder)  # 0700: what lands in them holds personal data
        if self.store.ensure_schema():
            log.info("database created at the current schema")

    def _start_smtp(self) -> None:
        if self.settings.smtp_listener.enabled:
            from intake.sources.smtp import SmtpSource

            smtp = SmtpSource.from_settings(self.settings.smtp_listener, self.store, on_new=self.notify)
            smtp.start()
            self._stoppers.append(smtp.stop)

    def _start_web(self) -> None:
        if self.settings.web.enabled:
            from intake.web.server import WebThread

            web = WebThread(self.settings, self.store, on_new=self.notify)  # the online form's submissions
            web.start()
            self._stoppers.append(web.stop)

    def notify(self, submission_id: int) -> None:
        raise NotImplementedError

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, join_seconds: float = 15) -> None:
        self.stop_event.set()
        for stopper in self._stoppers:
            try:
                stopper()
            except Exception as exc:  # noqa: BLE001  (stopping must go on for the others)
                log.warning("stopping a source: %s", type(exc).__name__)
        for thread in self._threads:
            thread.join(timeout=join_seconds)

    def run_forever(self) -> None:
        def _handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, _handle)
        signal.signal(signal.SIGINT, _handle)
        self.start()
        log.info("%s", self.banner())
        try:
            while not self.stop_event.wait(1.0):
                pass
        finally:
            self.stop()


class Gateway(_Service):
    def __init__(self, settings: Settings, *, sweep_seconds: float = 10.0, outbox_seconds: float = 1.0) -> None:
        super().__init__(settings)
        workers = settings.pipeline.worker_count()
        self.pool = ExtractionPool(workers, timeout=settings.pipeline.submission_timeout_seconds,
                                   memory_mb=settings.pipeline.memory_mb)
        self.ctx = Context(self.store, settings, self.pool)
        self.workers = workers
        self.sweep_seconds = sweep_seconds
        self.outbox_seconds = outbox_seconds
        self._queue: queue.Queue[int] = queue.Queue()
        self._queued: set[int] = set()
        self._lock = threading.Lock()
        self._outbox_wake = threading.Event()
        self._senders = ThreadPoolExecutor(max_workers=OUTBOX_SENDERS, thread_name_prefix="outbox-send")

    # -- wiring ------------------------------------------------------------------------------

    def notify(self, submission_id: int) -> None:
        """A source stored a new submission (also called by the sweep for leftovers)."""
        with self._lock:
            if submission_id in self._queued:
                return
            self._queued.add(submission_id)
        self._queue.put(submission_id)

    def start(self) -> None:
        self._prepare()
        requeued = self.store.requeue_sending(datetime.now(UTC))
        if requeued:
            log.warning("%d reply(ies) were being sent when the gateway stopped; they are due again", requeued)
        # The fork server warms up beside the start of the sources, not when the first mail comes.
        self._spawn(self._warm_pool, "warm-up")
        # One stage thread per extraction process: more would count attempts for mails still
        # waiting for a process, and a crash loop would then send more of them to staff.
        for i in range(self.workers):
            self._spawn(self._work, f"pipeline-{i}")
        self._spawn(self._outbox, "outbox")
        self._spawn(self._sweep, "sweep")
        self._start_sources()
        self._start_web()

    def _warm_pool(self) -> None:
        try:
            self.pool.warm()
        except Exception as exc:  # noqa: BLE001  (the first extraction starts it then, and says why it cannot)
            log.warning("warming the extraction pool: %s", type(exc).__name__)

    def _start_sources(self) -> None:
        s = self.settings
        self._start_smtp()
        if s.fax.enabled:
            from intake.sources.faxdir import FaxDirSource

            fax = FaxDirSource.from_settings(s.fax, s, self.store, on_new=self.notify)
            self._spawn(lambda: fax.run(self.stop_event), "faxdir")
        if s.imap.enabled:
            from intake.sources.imap import ImapSource
            from intake.sources.imap_nudge import ImapNudge

            imap = ImapSource.from_settings(s.imap, self.store, on_new=self.notify)
            # Dovecot's IDLE announces a mail about half a second late: a light second session
            # notices it sooner and asks for the poll (`intake.sources.imap_nudge`).
            nudge = ImapNudge(imap)
            self._spawn(lambda: imap.run(self.stop_event), "imap")
            self._spawn(lambda: nudge.run(self.stop_event), "imap-nudge")
            self._stoppers.append(imap.close)

    def stop(self, join_seconds: float = 15) -> None:
        self.stop_event.set()
        self._outbox_wake.set()  # the outbox thread sees the stop now, not after its wait
        super().stop(join_seconds)
        self._senders.shutdown(wait=False, cancel_futures=True)

    def banner(self) -> str:
        return f"coc-intake running: {self.workers} extraction worker(s)"

    # -- loops -------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self.stop_event.is_set():
            try:
                submission_id = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.process(submission_id)
            except Exception:
                log.exception("submission %d: stage failed; it stays in the store for the next sweep", submission_id)
            finally:
                with self._lock:
                    self._queued.discard(submission_id)

    def process(self, submission_id: int) -> None:
        """Run every stage due for one submission."""
        if process_submission(self.ctx, submission_id):
            self._outbox_wake.set()

    def _sweep(self) -> None:
        """Pick up what the store says is unfinished: at start, and then every few seconds."""
        while not self.stop_event.is_set():
            try:
                for submission_id in unfinished(self.ctx):
                    self.notify(submission_id)
            except Exception as exc:  # noqa: BLE001  (a failed sweep is logged and tried again at the next one)
                log.warning("sweep: %s", type(exc).__name__)
            self.stop_event.wait(self.sweep_seconds)

    def _outbox(self) -> None:
        settle = False
        followed = 0.0
        while not self.stop_event.is_set():
            try:
                if time.monotonic() - followed >= self.settings.fax_out.follow_seconds:
                    # HylaFAX jobs of fax replies: done, or failed and due again (`intake.faxout`).
                    followed = time.monotonic()
                    follow_fax_jobs(self.store, self.settings.fax_out, datetime.now(UTC))
                if settle:
                    # A pass that failed (the database went away in the middle of a send) can leave a
                    # reply in `sending`, which due_replies never returns. This thread is the process's
                    # only sender and is between sends here, so settle such rows as at start-up.
                    self.store.requeue_sending(datetime.now(UTC))
                    settle = False
                self._send_due()
            except Exception as exc:  # noqa: BLE001  (a failed outbox round is logged and the next round tries again)
                settle = True
                log.warning("outbox: %s", type(exc).__name__)
            self._outbox_wake.wait(self.outbox_seconds)
            self._outbox_wake.clear()


    def _send_due(self) -> None:
        """Hand every due reply over: taken `OUTBOX_BATCH` at a time in one transaction, the mails of
        a batch shared among a few relay sessions at once (each send waits on the relay's round
        trips, not on this process). A pass returns only when all of its sends ended, so the thread
        is still between sends when it settles leftovers (`requeue_sending`); the taking is a
        conditional move per reply, so no reply is taken by two senders."""
        while not self.stop_event.is_set():
            taken = self.store.take_due(OUTBOX_BATCH)
            mails = [item for item in taken if item.channel != ReplyChannel.FAX]
            shares = [mails[i::OUTBOX_SENDERS] for i in range(min(OUTBOX_SENDERS, len(mails)))]
            shares += [[item] for item in taken if item.channel == ReplyChannel.FAX]
            futures = [self._senders.submit(send_taken, self.ctx, share) for share in shares]
            futures_wait(futures)
            for future in futures:
                future.result()  # the first failure, once every send of the pass has ended
            if len(taken) < OUTBOX_BATCH:
                return


class SourceGateway(_Service):
    """`coc-intake run` with `[workers] dispatch = "procrastinate"`: take everything in, defer the work.

    The SMTP listener runs in every such process; the IMAP folder and the fax folder each run only in
    the process that holds the source's PostgreSQL advisory lock (`intake.sources.holder`), the others
    waiting to take over. Extraction, replies and sending are jobs for `coc-intake worker` processes.
    """

    def __init__(self, settings: Settings) -> None:
        from intake.jobs import Jobs

        super().__init__(settings)
        self.jobs = Jobs(settings)
        self.holders: list[Any] = []

    def notify(self, submission_id: int) -> None:
        """A source stored a new submission: defer its job (a lost deferral is found by the sweep)."""
        self.jobs.defer_submission(submission_id)

    def start(self) -> None:
        from intake.sources.holder import SourceHolder
        from intake.store.migrate import ensure_job_schema

        s = self.settings
        self._prepare()
        if ensure_job_schema(self.store.engine):
            log.info("procrastinate's job schema applied")
        self.jobs.open()
        self._start_smtp()
        poll = s.workers.lock_poll_seconds
        if s.fax.enabled:
            from intake.sources.faxdir import FaxDirSource

            self.holders.append(SourceHolder(
                s.store.url, f"fax:{s.fax_inbox}", poll_seconds=poll,
                make_source=lambda: FaxDirSource.from_settings(s.fax, s, self.store, on_new=self.notify)))
        if s.imap.enabled:
            from intake.sources.imap import ImapSource

            self.holders.append(SourceHolder(
                s.store.url, f"imap:{s.imap.username}@{s.imap.host}:{s.imap.port}/{s.imap.folder}",
                poll_seconds=poll,
                make_source=lambda: ImapSource.from_settings(s.imap, self.store, on_new=self.notify)))
        for holder in self.holders:
            self._spawn(functools.partial(holder.run, self.stop_event), f"holder-{holder.name}")
        self._start_web()

    def stop(self, join_seconds: float = 30) -> None:
        super().stop(join_seconds)
        self.jobs.close()

    def banner(self) -> str:
        return (f"coc-intake running as a source holder: {len(self.holders)} polled source(s) under advisory "
                f"locks; jobs for `coc-intake worker`")


def run(settings: Settings) -> int:
    """`coc-intake run`: everything in this process (SQLite default), or sources only (procrastinate)."""
    gateway: Gateway | SourceGateway
    gateway = SourceGateway(settings) if settings.workers.dispatch == "procrastinate" else Gateway(settings)
    gateway.run_forever()
    return 0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until true or `timeout` seconds passed (used by tests and benchmarks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
