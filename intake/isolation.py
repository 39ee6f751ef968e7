"""Run the extraction of each document in a worker process, with a time and a memory limit.

A hostile or merely broken document can make a parser loop, eat memory or crash the interpreter
(a C library inside Pillow, pdfium or Tesseract). Documents are therefore extracted in worker
processes forked from a clean fork server, never in the daemon: on a timeout the worker is killed
with its process group (the Tesseract it started), not abandoned; a crash or a memory error becomes
a reason for staff, and the daemon goes on with a fresh worker.

A worker serves many documents in turn: forking one per document cost more than the extraction of
a text mail itself (the child's start, then every lazy cache of the parsers built anew). It is
recycled (a new one started in its place) after `RECYCLE_AFTER` documents, when its memory grew by
more than `RECYCLE_GROWTH_MB`, and after any document that failed, so that no state a bad document
left behind reaches the next one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TextIO

from intake.extract import SubmissionResult
from intake.logs import MaskSSN
from parsers.types import Limits

log = logging.getLogger(__name__)

# `intake.isolation` itself too: each child unpickles its target from here, and imported it anew.
_PRELOAD = ["intake.extract", "parsers.mime", "parsers.pdf_text", "parsers.image", "parsers.sheet",
            "parsers.body", "parsers.ocr", "intake.isolation", "intake.warmup"]

RECYCLE_AFTER = 250  # documents one worker extracts before a fresh one takes its place
RECYCLE_GROWTH_MB = 120  # resident memory a worker may gain over its first document's before it is replaced
_READY_SECONDS = 120.0  # a worker's own start (the fork, its limits) is not counted in the document's time


@dataclass(frozen=True)
class Outcome:
    result: SubmissionResult | None
    reason: str | None = None  # why there is no result (timeout, crash, memory)


def _serve(conn: Connection, memory_mb: int, ocr_threads: int = 1) -> None:
    """A worker: set its limits once, say it is ready, then extract one job after another until the
    pool closes its end of the pipe."""
    # A group of its own, so that a timeout kills the Tesseract it started too, not just the worker.
    os.setpgid(0, 0)
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    child_logging()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # The pool already runs one document per core: pages inside a document go one at a time
    # (unless the pool has fewer documents than cores, as `coc-intake extract` on one file).
    os.environ["COC_INTAKE_OCR_THREADS"] = str(max(1, ocr_threads))
    from intake.extract import extract_submission  # noqa: PLC0415 - preloaded by the fork server

    conn.send_bytes(b"rd")
    while True:
        try:
            raw, channel, filename, limits_json, answer_to = conn.recv()
        except (EOFError, OSError):
            return  # the pool retired this worker (or is gone)
        try:
            result = extract_submission(raw, channel=channel, filename=filename,
                                        limits=Limits.model_validate_json(limits_json), answer_to=answer_to)
            message = b"ok" + result.model_dump_json().encode()
        except MemoryError:
            message = b"er" + f"the document needs more than {memory_mb} MiB to read".encode()
        except Exception as exc:  # noqa: BLE001  (reported to staff by type only: messages may hold personal data)
            message = b"er" + f"the parser failed ({type(exc).__name__})".encode()
        del raw
        conn.send_bytes(message)


def child_logging(stream: TextIO | None = None) -> None:
    """Mask SSNs in whatever the child logs, whoever logs it.

    The fork server is a fresh interpreter: the daemon's handler (with its `MaskSSN` filter) is not
    there, and pypdf logs damaged objects with the raw bytes around them, which may hold an SSN. The
    child's own handler masks them, and Python warnings (Pillow's) go through it too.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(MaskSSN())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _rss_mb(pid: int | None) -> float:
    """Resident memory of a process in MiB (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class _Worker:
    """One worker process and the pool's end of its pipe."""

    def __init__(self, ctx: Any, memory_mb: int, ocr_threads: int) -> None:
        self.conn, theirs = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(theirs, memory_mb, ocr_threads), daemon=True)
        self.proc.start()
        theirs.close()  # only the worker holds its end: its death is an EOF here
        self.ready = False
        self.served = 0
        self.base_rss = 0.0

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            self.ready = self.conn.recv_bytes() == b"rd"
        return self.ready

    def kill(self) -> None:
        """SIGKILL the worker and its group (a Tesseract it started); the reaper waits for its exit
        (the fork server's report of it takes a tenth of a second on a busy machine), not the caller."""
        _kill_group(self.proc.pid)
        self.proc.kill()
        self.conn.close()
        _REAPER.submit(self.proc.join)

    def retire(self) -> None:
        """Let the worker end by itself (its end of the pipe sees EOF); the reaper waits for it."""
        self.conn.close()
        _REAPER.submit(_reap, self.proc)


class ExtractionPool:
    """At most `workers` documents at a time, each in one of the pool's worker processes."""

    def __init__(self, workers: int, *, timeout: float, memory_mb: int, ocr_threads: int = 1) -> None:
        self.workers = max(1, workers)
        self.ocr_threads = max(1, ocr_threads)  # pages of one document OCRed at once
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(self.workers)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        methods = multiprocessing.get_all_start_methods()
        self._ctx: Any = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._ctx.set_forkserver_preload(_PRELOAD)

    def warm(self) -> None:
        """Start the fork server and the workers now: the server's imports and warm-up take seconds
        (more on a busy machine), which the first document would otherwise wait for. Returns when
        one worker is ready."""
        if self._ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver  # noqa: PLC0415 - only with the forkserver method

            forkserver.ensure_running()
        with self._lock:
            while len(self._idle) < self.workers:
                self._idle.append(self._start())
            # Taken out while it is waited for: only the holder of a worker reads its pipe.
            first = self._idle.pop()
        try:
            first.wait_ready(_READY_SECONDS)
        except (EOFError, OSError):
            first.kill()
            self._replace(first)
            return
        with self._lock:
            self._idle.append(first)

    def extract(self, raw: bytes, *, channel: str, filename: str | None, limits: Limits,
                answer_to: list[str] | None = None) -> Outcome:
        """`answer_to`: read the message as an answer to our replies with these texts
        (`intake.extract.extract_answer`)."""
        with self._slots:
            return self._run(raw, channel, filename, limits, answer_to)

    def _start(self) -> _Worker:
        return _Worker(self._ctx, self.memory_mb, self.ocr_threads)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._start()

    def _replace(self, worker: _Worker | None) -> None:
        """A worker is gone (killed, died, retired): its successor is started in the background, so
        that it boots while the next document is still on its way and the caller, whose outcome is
        known, does not wait for the start."""
        del worker
        _REAPER.submit(self._start_spare)

    def _start_spare(self) -> None:
        with self._lock:
            if len(self._idle) < self.workers:
                self._idle.append(self._start())

    def _give_back(self, worker: _Worker, ok: bool) -> None:
        worker.served += 1
        rss = _rss_mb(worker.proc.pid)
        if worker.served == 1:
            worker.base_rss = rss
        if not ok or worker.served >= RECYCLE_AFTER or rss - worker.base_rss > RECYCLE_GROWTH_MB:
            worker.retire()
            self._replace(worker)
            return
        with self._lock:
            if len(self._idle) < self.workers:
                self._idle.append(worker)
                return
        worker.retire()

    def _run(self, raw: bytes, channel: str, filename: str | None, limits: Limits,
             answer_to: list[str] | None = None) -> Outcome:
        worker = self._take()
        try:
            if not worker.wait_ready(_READY_SECONDS):
                worker.kill()
                self._replace(worker)
                return Outcome(None, f"the extraction process did not start in {_READY_SECONDS:g} seconds")
            worker.conn.send((raw, channel, filename, limits.model_dump_json(), answer_to))
            if not worker.conn.poll(self.timeout):
                worker.kill()
                self._replace(worker)
                return Outcome(None, f"extraction took longer than {self.timeout:g} seconds; stopped")
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):
            worker.proc.join()
            _kill_group(worker.proc.pid)
            worker.conn.close()
            self._replace(worker)
            return Outcome(None, f"the extraction process died (exit code {worker.proc.exitcode})")
        status, body = message[:2], message[2:]
        self._give_back(worker, status == b"ok")
        if status == b"ok":
            return Outcome(SubmissionResult.model_validate_json(body))
        return Outcome(None, body.decode())


# Waits for retired workers to exit (at most a few at a time).
_REAPER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="extraction-reaper")


def _reap(proc: Any) -> None:
    """Wait for a retired worker to exit; one still there after ten seconds is killed, with its
    group (a Tesseract it left behind)."""
    proc.join(timeout=10)
    if proc.is_alive():
        _kill_group(proc.pid)
        proc.kill()
        proc.join()


def _kill_group(pgid: int | None) -> None:
    """SIGKILL what is left of a child's process group (its OCR processes); gone already is fine."""
    if pgid is None or pgid <= 1:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
