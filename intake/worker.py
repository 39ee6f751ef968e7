"""`coc-intake worker`: runs the procrastinate jobs (extract, reply, send) on any machine.

Start as many as the work needs, on as many machines as share the PostgreSQL store; each runs
`[workers] concurrency` jobs at once and extracts every document in a child process of its own
extraction pool (time and memory limits, as in `coc-intake run`). SIGTERM (or Ctrl-C) stops it
gracefully: no new job is taken and the running ones may finish for `[workers] shutdown_seconds`. A
worker that dies instead stops its heartbeat, and the sweep of the remaining workers runs its jobs
again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from intake.isolation import ExtractionPool
from intake.jobs import Jobs
from intake.pipeline import Context
from intake.settings import Settings
from intake.store import Store
from intake.store.migrate import ensure_job_schema

log = logging.getLogger("intake.worker")


class ConfigurationError(ValueError):
    """The settings do not allow a worker (the message says what to change)."""


def run_worker(settings: Settings, *, name: str | None = None) -> int:
    """Run one worker process until it is stopped by a signal; the exit code."""
    if settings.workers.dispatch != "procrastinate":
        raise ConfigurationError('coc-intake worker needs [workers] dispatch = "procrastinate" and a PostgreSQL '
                                 '[store] url; with dispatch = "inprocess" `coc-intake run` does all the work')
    store = Store.from_settings(settings)
    if store.ensure_schema():
        log.info("database created at the current schema")
    if ensure_job_schema(store.engine):
        log.info("procrastinate's job schema applied")
    concurrency = settings.workers.worker_concurrency(settings.pipeline)
    pipeline = settings.pipeline
    # The pool's fork server starts before the event loop and its threads exist.
    pool = ExtractionPool(pipeline.worker_count(), timeout=pipeline.submission_timeout_seconds,
                          memory_mb=pipeline.memory_mb)
    ctx = Context(store, settings, pool)
    jobs = Jobs(settings, ctx, pool_size=concurrency + 2)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    log.info("coc-intake worker %s: %d job(s) at once, %d extraction process(es), queues %s",
             name, concurrency, pool.workers, ", ".join(jobs.queues))
    try:
        asyncio.run(jobs.work(concurrency=concurrency, name=name))
    finally:
        store.dispose()
    log.info("coc-intake worker %s stopped", name)
    return 0
