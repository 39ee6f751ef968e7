"""Run the extraction of one document in its own process, with a time and a memory limit.

A hostile or merely broken document can make a parser loop, eat memory or crash the interpreter
(a C library inside Pillow, pdfium or Tesseract). Each document is therefore extracted in a child
process forked from a clean fork server: on a timeout the child is killed, not abandoned; a crash
or a memory error becomes a reason for staff, and the daemon goes on.
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


@dataclass(frozen=True)
class Outcome:
    result: SubmissionResult | None
    reason: str | None = None  # why there is no result (timeout, crash, memory)


def _child(conn: Connection, raw: bytes, channel: str, filename: str | None,
           limits_json: str, memory_mb: int, ocr_threads: int = 1, answer_to: list[str] | None = None) -> None:
    # A group of its own, so that a timeout kills the Tesseract it started too, not just the child.
    os.setpgid(0, 0)
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    child_logging()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # The pool already runs one document per core: pages inside a document go one at a time
    # (unless the pool has fewer documents than cores, as `coc-intake extract` on one file).
    os.environ["COC_INTAKE_OCR_THREADS"] = str(max(1, ocr_threads))
    from intake.extract import extract_submission

    try:
        result = extract_submission(raw, channel=channel, filename=filename,
                                    limits=Limits.model_validate_json(limits_json), answer_to=answer_to)
        conn.send_bytes(b"ok" + result.model_dump_json().encode())
    except MemoryError:
        conn.send_bytes(b"er" + f"the document needs more than {memory_mb} MiB to read".encode())
    except Exception as exc:  # reported to staff by type only: messages may hold personal data
        conn.send_bytes(b"er" + f"the parser failed ({type(exc).__name__})".encode())
    finally:
        conn.close()


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


class ExtractionPool:
    """At most `workers` documents at a time, each in a process of its own."""

    def __init__(self, workers: int, *, timeout: float, memory_mb: int, ocr_threads: int = 1) -> None:
        self.workers = max(1, workers)
        self.ocr_threads = max(1, ocr_threads)  # pages of one document OCRed at once
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(self.workers)
        methods = multiprocessing.get_all_start_methods()
        self._ctx: Any = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._ctx.set_forkserver_preload(_PRELOAD)

    def warm(self) -> None:
        """Start the fork server now: its imports and warm-up take seconds (more on a busy machine),
        which the first document would otherwise wait for."""
        if self._ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver  # noqa: PLC0415 - only with the forkserver method

            forkserver.ensure_running()
        # The server takes its first fork only after its preload: one no-op child waits for that.
        proc = self._ctx.Process(target=_ready, daemon=True)
        proc.start()
        proc.join(timeout=self.timeout)

    def extract(self, raw: bytes, *, channel: str, filename: str | None, limits: Limits,
                answer_to: list[str] | None = None) -> Outcome:
        """`answer_to`: read the message as an answer to our replies with these texts
        (`intake.extract.extract_answer`)."""
        with self._slots:
            return self._run(raw, channel, filename, limits, answer_to)

    def _run(self, raw: bytes, channel: str, filename: str | None, limits: Limits,
             answer_to: list[str] | None = None) -> Outcome:
        receiver, sender = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, daemon=True,
                                 args=(sender, raw, channel, filename, limits.model_dump_json(),
                                       self.memory_mb, self.ocr_threads, answer_to))
        proc.start()
        sender.close()
        try:
            if not receiver.poll(self.timeout):
                _kill_group(proc.pid)
                proc.kill()
                proc.join()
                return Outcome(None, f"extraction took longer than {self.timeout:g} seconds; stopped")
            message = receiver.recv_bytes()
        except EOFError:
            proc.join()
            _kill_group(proc.pid)
            return Outcome(None, f"the extraction process died (exit code {proc.exitcode})")
        finally:
            receiver.close()
        # The result is in: the child's exit (its finalisers, then the fork server's report of it)
        # is waited for by the reaper, not by the stage thread, which goes on with the next stage.
        _REAPER.submit(_reap, proc)
        status, body = message[:2], message[2:]
        if status == b"ok":
            return Outcome(SubmissionResult.model_validate_json(body))
        return Outcome(None, body.decode())


# Waits for children that have sent their result to exit (at most a few at a time: the slots).
_REAPER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="extraction-reaper")


def _reap(proc: Any) -> None:
    """Wait for a child that sent its result; one still there after ten seconds is killed, with its
    group (a Tesseract it left behind)."""
    proc.join(timeout=10)
    if proc.is_alive():
        _kill_group(proc.pid)
        proc.kill()
        proc.join()


def _ready() -> None:
    """A child that does nothing (`ExtractionPool.warm`)."""


def _kill_group(pgid: int | None) -> None:
    """SIGKILL what is left of a child's process group (its OCR processes); gone already is fine."""
    if pgid is None or pgid <= 1:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
