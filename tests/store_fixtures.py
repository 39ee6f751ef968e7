"""Database fixtures for store tests: a fresh SQLite file, or a fresh PostgreSQL database per test.

PostgreSQL is the real server on 127.0.0.1:5432 (trust auth). If it is down, the fixture starts the
Debian cluster; if it still cannot connect, the test fails (never a silent skip: the store must be
known to work on both backends). Use them from a test module with `pytest_plugins = ["tests.store_fixtures"]`.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from intake.store import Store
from tests.dnsstub import loopback_dns

if TYPE_CHECKING:
    from intake.pipeline import Context

PG_HOST = os.environ.get("COC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("COC_TEST_PG_PORT", "5432"))
PG_USERS = ("postgres", "root")


def _try_connect() -> str | None:
    """The first user that can connect to database `test`, or None."""
    for user in PG_USERS:
        try:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="test", connect_timeout=3):
                return user
        except psycopg.OperationalError:
            continue
    return None


def _start_cluster() -> None:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def pg_user() -> str:
    user = _try_connect()
    if user is None:
        _start_cluster()
        for _ in range(30):
            user = _try_connect()
            if user is not None:
                break
            time.sleep(1)
    if user is None:
        pytest.fail(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} and could not be started")
    return user


@pytest.fixture
def pg_url(pg_user: str) -> Iterator[str]:
    """A fresh, empty database `coc_test_<random>`, dropped after the test."""
    name = f"coc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=pg_user, dbname="test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{pg_user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=pg_user, dbname="test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL, once for SQLite (a file in a temp dir) and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'coc-intake.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    st = Store(db_url)
    st.upgrade()
    try:
        yield st
    finally:
        st.dispose()


def stage_context(tmp_path: Path, toml: str = "", *, timeout: float = 60) -> Context:
    """The pipeline stages' Context on a SQLite store under tmp_path, with `toml` over the defaults;
    one extraction process, no memory limit. The caller disposes `ctx.store`."""
    from intake.isolation import ExtractionPool
    from intake.pipeline import Context
    from intake.settings import load_settings

    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n' + loopback_dns(toml), encoding="utf-8")
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    return Context(store, settings, ExtractionPool(1, timeout=timeout, memory_mb=0))


def deliver(ctx: Context, raw: bytes, sender: str) -> int:
    """One mail through the stages as the daemon runs them: stored (channel `smtp`), extracted,
    answered. Returns the submission id."""
    from datetime import UTC, datetime

    from intake.pipeline import extract_stage, reply_stage
    from intake.store import Incoming

    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender=sender,
                                                 received_at=datetime.now(UTC)))
    extract_stage(ctx, sid)
    reply_stage(ctx, sid)
    return sid
