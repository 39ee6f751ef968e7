"""Engines for SQLite and PostgreSQL, set up so that both behave the same under concurrent writers.

SQLite: WAL (readers never wait for the writer), `busy_timeout` (a writer waits for the lock
instead of failing), foreign keys on, and write transactions opened with `BEGIN IMMEDIATE`: a
deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when another
writer got in between, and busy_timeout does not help there. PostgreSQL: psycopg 3.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

from intake.private import create_private_file, make_private_dir

SQLITE_BUSY_MS = 30_000
READONLY = "coc_readonly"  # execution option: open a deferred (shared) SQLite transaction
# Execution option: a write whose loss in a power cut (never in a crash of the process) the sweep
# redoes; its commit does not wait for the disk (see `StoreCore._write`).
REDONE = "coc_redone"
_SYNCHRONOUS = "coc_synchronous"  # key in a pooled connection's `info`: the `synchronous` level it has now


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; for a SQLite file, its directory is created (./var on first run)."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        if db and db != ":memory:" and not db.startswith("file:"):
            make_private_dir(Path(db).expanduser().parent)
            # SQLite gives its -wal and -shm files the mode of the database file: make that one 0600.
            create_private_file(Path(db).expanduser())
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _sqlite_events(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _wal(cur: Any) -> None:
    """Switch to WAL; retried, because SQLite answers "database is locked" at once (without its busy
    handler) when several connections open a new database file together and all try to switch."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        _wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")  # committed means on disk: we answer 250 after it
        cur.close()
        _record.info[_SYNCHRONOUS] = "FULL"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(READONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            # WAL: NORMAL survives a crash of the process, FULL also a power cut (and a FULL commit
            # flushes the NORMAL ones before it). The level is the connection's own until changed,
            # so it is set only when this transaction needs the other one (a statement less on
            # most transactions: each cost about 0.1 ms of the daemon's one busy core).
            level = "NORMAL" if options.get(REDONE) else "FULL"
            info = conn.connection.info
            if info.get(_SYNCHRONOUS) != level:
                info.pop(_SYNCHRONOUS, None)  # unknown until the PRAGMA went through
                conn.exec_driver_sql(f"PRAGMA synchronous={level}")
                info[_SYNCHRONOUS] = level
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def commit_without_flush(engine: Engine, lock: AbstractContextManager[Any] | None = None) -> Iterator[Connection]:
    """One transaction whose commit does not wait for the disk flush (fsync).

    For the outbox's hand-over mark, committed between the message and the final dot of SMTP DATA:
    a process killed while the commit waits for the disk would leave the mark visible after a
    restart (the write is in the operating system's cache) but the dot unsent, so the reply would
    count as sent and never arrive. Without the wait the window shrinks from the flush (milliseconds)
    to microseconds. Only a crash of the machine or the database server can then undo the mark, and
    an undone mark means the reply is sent again: a possible duplicate, never a loss.
    `lock`: the store's `write_lock`, held for the transaction.
    SQLite: ``synchronous=NORMAL`` for this transaction (WAL); PostgreSQL: ``synchronous_commit = off``.
    """
    sqlite = engine.dialect.name == "sqlite"
    # SQLite: the `begin` event sets `synchronous` per transaction, NORMAL for a REDONE one (a plain
    # PRAGMA before `begin` would be overwritten by its FULL, and the flush wait would be back).
    with lock or nullcontext(), engine.connect() as conn, conn.execution_options(**{REDONE: True}).begin():
        if not sqlite:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        yield conn
