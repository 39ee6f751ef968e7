"""One process at a time polls each IMAP folder or fax folder: a PostgreSQL advisory lock decides which.

Several `coc-intake run` processes (on several machines) may run beside each other; SMTP listeners
run on all of them, but a polled source is polled by the one process that holds its session-level
advisory lock. The lock lives as long as a dedicated database connection: when its holder dies
(SIGKILL, a machine gone), PostgreSQL ends the session and frees the lock, and another process,
trying every `lock_poll_seconds`, takes the source over. A holder checks its lock connection as often
and stops polling as soon as it is lost, since another process may hold the lock by then.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger("intake.sources.holder")


class Pollable(Protocol):
    """A source that polls until its stop event is set (`ImapSource`, `FaxDirSource`)."""

    def run(self, stop: threading.Event) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a source name (same on every machine)."""
    digest = hashlib.blake2b(f"coc-intake source {name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL of the store as a libpq connection string (drops `+psycopg`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class AdvisoryLock:
    """A session-level advisory lock on a connection of its own (not from a pool: its life is the lock's)."""

    def __init__(self, url: str, name: str, *, connect_timeout: float = 10.0) -> None:
        self.conninfo = libpq_url(url)
        self.name = name
        self.key = lock_key(name)
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (and no connection kept) otherwise."""
        if self._conn is not None:
            return True
        # TCP keepalives: a holder cut off from the database notices within about a minute even
        # when no query is running; `alive` notices at its next check.
        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=int(self.connect_timeout),
                               keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
                               application_name=f"coc-intake {os.getpid()} {self.name}"[:63])
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except Exception:
            conn.close()
            raise
        if row is None or row[0] is not True:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        """True while the lock's connection answers and still holds the lock."""
        conn = self._conn
        if conn is None:
            return False
        try:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND granted AND objid = (%s::bigint & 4294967295)::oid "
                "AND classid = ((%s::bigint >> 32) & 4294967295)::oid",
                (self.key, self.key),
            ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def release(self) -> None:
        """Give the lock back (closing the session frees it even if the unlock cannot be sent)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        with contextlib.suppress(Exception):
            conn.close()


class SourceHolder:
    """Runs a polled source only while this process holds the source's advisory lock.

    `make_source` builds a fresh source each time the lock is taken (a source's connection state
    does not outlive a lost lock). `run` returns when `stop` is set.
    """

    def __init__(self, url: str, name: str, make_source: Callable[[], Pollable], *,
                 poll_seconds: float = 5.0, on_change: Callable[[str, bool], None] | None = None) -> None:
        self.name = name
        self.lock = AdvisoryLock(url, name)
        self.make_source = make_source
        self.poll_seconds = poll_seconds
        self.on_change = on_change
        self.holding = threading.Event()
        self.takeovers = 0

    def _announce(self, held: bool) -> None:
        if held:
            self.holding.set()
        else:
            self.holding.clear()
        if self.on_change is not None:
            with contextlib.suppress(Exception):
                self.on_change(self.name, held)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    got = self.lock.try_acquire()
                except psycopg.Error as exc:
                    log.warning("source %s: cannot reach the database for its lock: %s", self.name,
                                type(exc).__name__)
                    got = False
                if not got:
                    stop.wait(self.poll_seconds)
                    continue
                self.takeovers += 1
                log.info("source %s: this process holds it now and polls it", self.name)
                self._announce(True)
                self._hold(stop)
                self._announce(False)
        finally:
            self.lock.release()

    def _hold(self, stop: threading.Event) -> None:
        """Poll the source in a thread while the lock connection stays alive."""
        source_stop = threading.Event()
        source = self.make_source()
        thread = threading.Thread(target=source.run, args=(source_stop,), name=f"source-{self.name}", daemon=True)
        thread.start()
        try:
            while not stop.wait(self.poll_seconds):
                if not self.lock.alive():
                    log.error("source %s: the lock's database connection is lost; polling stops now "
                              "(another process may take the source over)", self.name)
                    break
                if not thread.is_alive():
                    log.error("source %s: its polling thread ended; giving the source up", self.name)
                    break
        finally:
            source_stop.set()
            close = getattr(source, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
            thread.join(timeout=30)
            self.lock.release()
