"""Alembic, driven from code: the migrations ship inside the package, so `coc-intake db upgrade`
works from any directory without an alembic.ini next to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """A Config pointing at the packaged migrations; env.py uses `connection` when given.

    The database URL travels in `attributes`, never through the ini parser (which would choke on
    the `%` of an escaped password).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# Key of the PostgreSQL advisory lock that serialises schema changes (any fixed 64-bit number).
_MIGRATION_LOCK = 0x436F_4349_6E74_616B


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction (DDL is transactional on both backends).

    Several processes starting at once on an empty database take turns: PostgreSQL through an
    advisory lock, SQLite through its write lock (`BEGIN IMMEDIATE`); the later ones find the schema
    current and do nothing.
    """
    with _migrating(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _migrating(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the migrations; on SQLite with foreign keys off while it runs.

    SQLite changes a CHECK constraint by copying the table and dropping the old one (Alembic's batch
    mode), and with foreign keys on, dropping `submissions` deletes every request, event and reply
    that refers to it (ON DELETE CASCADE). The pragma only takes effect outside a transaction, so it
    is set before the transaction begins; afterwards `foreign_key_check` proves nothing was left
    dangling, and the keys are on again for the connection's next user.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
            if sqlite and (broken := raw.execute("PRAGMA foreign_key_check").fetchall()):
                raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def has_job_schema(engine: Engine) -> bool:
    """True when procrastinate's tables exist (PostgreSQL only; always False elsewhere)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar() is True


def ensure_job_schema(engine: Engine) -> bool:
    """Apply procrastinate's own schema (the job queue of `[workers] dispatch = "procrastinate"`) once.

    The SQL is the one procrastinate's `SchemaManager` ships for the installed version; it is run
    under the same advisory lock as the Alembic migrations, so processes starting together apply it
    once. True if it was applied now. Upgrading procrastinate's schema across its own releases
    follows procrastinate's migration files (`procrastinate schema --migrations-path`).
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("the job queue (procrastinate) needs a PostgreSQL store")
    from procrastinate.schema import SchemaManager  # noqa: PLC0415 - procrastinate only for its job schema

    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
            return False
        # The driver's own cursor, without parameters: the schema's `%` are not placeholders.
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        dbapi.execute(SchemaManager.get_schema())
    return True
