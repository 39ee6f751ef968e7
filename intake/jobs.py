"""The job queue of several workers: procrastinate on the store's PostgreSQL database.

With `[workers] dispatch = "procrastinate"` the sources store a submission and then defer
"extract submission N"; a worker runs the same stage functions as the in-process dispatcher and
defers "send reply M" for what it queued. The store stays the truth: a job is only a hint that
something may be due, so a job run twice (a retry after a crash, the sweep's second deferral) finds
the state already moved and does nothing, and one lost (a crash between the commit and the deferral)
is deferred again by the periodic sweep. Procrastinate gives the rest: a queueing lock and a lock per
submission and per reply (one waiting job each, never two running at once), retries with back-off
for exceptions, worker heartbeats, and here a periodic task that runs again the jobs of dead workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status

from intake.pipeline import Context, send_stage
from intake.pipeline.dispatch import process_submission, unfinished, unfinished_replies
from intake.settings import Settings
from intake.sources.holder import libpq_url
from intake.store.states import OUTBOX_DUE, OutboxState

MINUTE = 60  # seconds: below it the cron line counts seconds, above it minutes

log = logging.getLogger("intake.jobs")

EXTRACT = "coc_intake.extract_submission"
SEND = "coc_intake.send_reply"
SWEEP = "coc_intake.sweep"
MAINTENANCE_QUEUE = "maintenance"
T = TypeVar("T")


def cron_every(seconds: int) -> str:
    """A procrastinate cron line (6th column = seconds) for "every `seconds` seconds"."""
    if seconds < MINUTE:
        return f"* * * * * */{max(1, seconds)}"
    return f"*/{max(1, min(59, seconds // 60))} * * * *"


def _aware(when: datetime) -> datetime:
    """Timestamps from the store as UTC-aware (SQLite gives naive ones)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def submission_lock(submission_id: int) -> str:
    return f"submission-{submission_id}"


def reply_lock(outbox_id: int) -> str:
    return f"reply-{outbox_id}"


class Jobs:
    """The procrastinate App with the gateway's tasks; `ctx` is needed only where tasks run (workers).

    Deferring works from any process: synchronously (`defer_submission`, the sources' `on_new`)
    after `open()`, or from the worker's event loop.
    """

    def __init__(self, settings: Settings, ctx: Context | None = None, *, pool_size: int = 4) -> None:
        self.settings = settings
        self.ctx = ctx
        w = settings.workers
        self.connector = PsycopgConnector(conninfo=libpq_url(settings.store.url), min_size=1,
                                          max_size=max(2, pool_size))
        self.app = App(connector=self.connector)
        retry = RetryStrategy(max_attempts=w.retry_attempts, exponential_wait=w.retry_wait_seconds)
        # Priorities: the sweep (it frees the jobs of dead workers) goes before a backlog of
        # extractions, and a reply ready to go before the next extraction.
        self.extract_task = self.app.task(name=EXTRACT, queue=w.extract_queue, retry=retry)(self._extract)
        self.send_task = self.app.task(name=SEND, queue=w.send_queue, retry=retry, priority=5)(self._send)
        sweep = self.app.task(name=SWEEP, queue=MAINTENANCE_QUEUE, queueing_lock="sweep", priority=10)(self._sweep)
        self.app.periodic(cron=cron_every(w.sweep_seconds), periodic_id="sweep")(sweep)
        self._executor: ThreadPoolExecutor | None = None

    # -- opening ------------------------------------------------------------------------------

    def open(self) -> Jobs:
        """For deferring from synchronous code (the `run` process)."""
        self.app.open()
        return self

    def close(self) -> None:
        self.app.close()

    @property
    def queues(self) -> list[str]:
        w = self.settings.workers
        return [w.extract_queue, w.send_queue, MAINTENANCE_QUEUE]

    async def work(self, *, concurrency: int, name: str | None = None) -> None:
        """Run a worker until SIGTERM/SIGINT (procrastinate's handlers: finish running jobs, then stop)."""
        w = self.settings.workers
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
        try:
            async with self.app.open_async():
                await self.app.run_worker_async(
                    queues=self.queues,
                    concurrency=concurrency,
                    name=name or f"{socket.gethostname()}:{os.getpid()}",
                    update_heartbeat_interval=w.heartbeat_seconds,
                    stalled_worker_timeout=w.stalled_seconds,
                    shutdown_graceful_timeout=w.shutdown_seconds,
                    delete_jobs="successful",
                    install_signal_handlers=True,
                )
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Stage functions block (database, extraction pool): they run in the worker's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _context(self) -> Context:
        if self.ctx is None:
            raise RuntimeError("jobs run only in a worker (coc-intake worker), which has the pipeline context")
        return self.ctx

    # -- deferring ----------------------------------------------------------------------------

    def defer_submission(self, submission_id: int) -> bool:
        """Defer extraction (and reply) of a submission; False if a job for it is already waiting."""
        lock = submission_lock(submission_id)
        try:
            self.extract_task.configure(lock=lock, queueing_lock=lock).defer(submission_id=submission_id)
        except AlreadyEnqueued:
            return False
        return True

    async def defer_submission_async(self, submission_id: int) -> bool:
        lock = submission_lock(submission_id)
        try:
            await self.extract_task.configure(lock=lock, queueing_lock=lock).defer_async(submission_id=submission_id)
        except AlreadyEnqueued:
            return False
        return True

    async def defer_send_async(self, outbox_id: int, at: datetime | None = None) -> bool:
        """Defer sending a reply at `at` (its `next_attempt_at`); False if a job for it is waiting."""
        lock = reply_lock(outbox_id)
        options: dict[str, Any] = {"lock": lock, "queueing_lock": lock}
        if at is not None and _aware(at) > datetime.now(UTC):
            options["schedule_at"] = _aware(at)
        try:
            await self.send_task.configure(**options).defer_async(outbox_id=outbox_id)
        except AlreadyEnqueued:
            return False
        return True

    # -- tasks --------------------------------------------------------------------------------

    async def _extract(self, submission_id: int) -> None:
        """Extract and queue the reply of one submission, then defer the sending of its due replies."""
        ctx = self._context()
        await self._in_thread(process_submission, ctx, submission_id)
        replies = await self._in_thread(ctx.store.replies_of, submission_id)
        # A fax by mail is answered as the fax submission it became: its reply is due now too.
        replies += await self._in_thread(ctx.store.due_replies, datetime.now(UTC), 50)
        for item in replies:
            if item.state in OUTBOX_DUE:
                await self.defer_send_async(item.id, item.next_attempt_at)

    async def _send(self, outbox_id: int) -> None:
        """Send one reply if it is due; a temporary failure defers the next try at its time."""
        again = await self._in_thread(self._send_now, outbox_id)
        if again is not None:
            await self.defer_send_async(outbox_id, again)

    def _send_now(self, outbox_id: int) -> datetime | None:
        ctx = self._context()
        item = ctx.store.get_reply(outbox_id)
        if item.state not in OUTBOX_DUE:
            return None  # sent, being sent by another job, or given up: nothing to do
        now = datetime.now(UTC)
        if _aware(item.next_attempt_at) > now + timedelta(seconds=1):
            return _aware(item.next_attempt_at)
        send_stage(ctx, item)
        after = ctx.store.get_reply(outbox_id)
        return _aware(after.next_attempt_at) if after.state == OutboxState.FAILED else None

    async def _sweep(self, timestamp: int) -> None:
        """Periodic: run again the jobs of dead workers, and defer whatever the store says is unfinished."""
        retried = await self.retry_stalled()
        submissions, replies = await self._in_thread(self._unfinished)
        deferred = 0
        for submission_id in submissions:
            deferred += await self.defer_submission_async(submission_id)
        for outbox_id in replies:
            deferred += await self.defer_send_async(outbox_id)
        if retried or deferred:
            log.info("sweep: %d stalled job(s) run again, %d job(s) deferred for unfinished work", retried, deferred)

    async def retry_stalled(self) -> int:
        """Jobs left `doing` by workers without a heartbeat for `stalled_seconds` go back to `todo`.

        When a job with the same queueing lock is already waiting (the sweep deferred it meanwhile),
        the stalled one is marked failed instead: the waiting job does the same work, and both
        waiting at once is what the queueing lock forbids.
        """
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.workers.stalled_seconds)
        count = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
                count += 1
                log.warning("job %s (%s) of a dead worker runs again", job.id, job.task_name)
            except (UniqueViolation, AlreadyEnqueued):
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                log.warning("job %s (%s) of a dead worker: superseded by a waiting job", job.id, job.task_name)
        return count

    def _unfinished(self) -> tuple[list[int], list[int]]:
        """Submissions and replies the store says are due (and replies whose sender died, settled first)."""
        ctx = self._context()
        stale = self.settings.workers.stale_sending_seconds
        return unfinished(ctx), unfinished_replies(ctx, stale_sending_seconds=stale)
