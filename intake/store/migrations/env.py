"""Alembic environment: runs on the connection `intake.store.migrate` hands over (or an URL).

`render_as_batch` so that later migrations can alter tables on SQLite (which needs a table copy).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from intake.store.engine import make_engine
from intake.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or a URL to the Alembic config")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run `coc-intake db upgrade`")
run_migrations_online()
