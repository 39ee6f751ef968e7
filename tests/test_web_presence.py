"""Who else has a request open, across web processes: two apps, each with its own store object on
one database (SQLite file and PostgreSQL), as two processes or machines share the work (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.settings import Settings
from intake.store import Store
from intake.store.web_models import PagePresence
from intake.web.app import create_app
from intake.web.presence import PRESENCE_SECONDS, Presence
from tests.browser import add_staff, seed_request, valid_request, web_settings
from tests.test_web import BAD_SSN, csrf_of, login

pytest_plugins = ["tests.store_fixtures"]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_apps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, Store, Store]]:
    settings = web_settings(tmp_path)
    if request.param == "postgresql":  # one keyring for both "machines", as an operator sets it up
        from intake.crypto import add_key

        add_key(tmp_path / "keys.json")
        settings.store.url = str(request.getfixturevalue("pg_url"))
        settings.encryption.key_file = tmp_path / "keys.json"
    first = Store.from_settings(settings)
    first.upgrade()
    add_staff(first)
    second = Store.from_settings(settings)  # the other process: its own engine and connections
    try:
        yield settings, first, second
    finally:
        first.dispose()
        second.dispose()


def _rows(store: Store) -> int:
    with Session(store.engine) as s:
        return int(s.scalar(select(func.count()).select_from(PagePresence)) or 0)


def test_a_clerk_on_one_process_sees_the_colleague_on_another(two_apps: tuple[Settings, Store, Store]) -> None:
    settings, store_a, store_b = two_apps
    rid = seed_request(store_a, valid_request(seed=27, ssn=BAD_SSN))
    app_a, app_b = create_app(settings, store_a), create_app(settings, store_b)
    rita = login(TestClient(app_a, follow_redirects=False, client=("10.0.0.1", 50000)), "rita")
    sam = login(TestClient(app_b, follow_redirects=False, client=("10.0.0.2", 50000)), "sam")
    page = rita.get(f"/requests/{rid}").text
    assert 'id="presence"' in page and "Another clerk" not in page
    # Sam's page is served by the other app: it names Rita, and Rita's next heartbeat names Sam.
    sam_page = sam.get(f"/requests/{rid}").text
    assert "Another clerk is editing this request: rita." in sam_page
    r = rita.post(f"/requests/{rid}/presence", data={"csrf_token": csrf_of(page)})
    assert r.json() == {"others": ["sam"], "editing": []}
    # Sam types: his heartbeat to app B says so, and Rita's page from app A shows it.
    sam.post(f"/requests/{rid}/presence", data={"csrf_token": csrf_of(sam_page), "editing": "1"})
    assert "Another clerk is editing this request: sam (changes not saved yet)." in rita.get(f"/requests/{rid}").text
    # Sam closes his page: gone at once for Rita.
    sam.post(f"/requests/{rid}/presence", data={"csrf_token": csrf_of(sam_page), "leave": "1"})
    assert rita.post(f"/requests/{rid}/presence", data={"csrf_token": csrf_of(page)}).json() == {
        "others": [], "editing": []}


def test_a_page_that_stopped_its_heartbeat_expires_and_is_swept(two_apps: tuple[Settings, Store, Store]) -> None:
    _, store_a, store_b = two_apps
    rid = seed_request(store_a, valid_request(seed=28))
    a, b = Presence(store_a), Presence(store_b)
    a.touch(rid, "rita", editing=True)
    b.touch(rid, "sam")
    b.touch(rid, "sam")  # the same row again from the same page: updated, not a second row
    assert (b.others(rid, "sam").viewing, b.others(rid, "sam").editing) == (["rita"], ["rita"])
    assert _rows(store_a) == 2
    # Rita's browser crashed a while ago: her last heartbeat is older than the limit.
    old = datetime.now(UTC) - timedelta(seconds=PRESENCE_SECONDS + 5)
    with Session(store_a.engine) as s, s.begin():
        s.execute(update(PagePresence).where(PagePresence.user_name == "rita").values(last_seen=old))
    assert b.others(rid, "sam").viewing == []
    b.touch(rid, "sam")  # any heartbeat sweeps the closed pages away
    assert _rows(store_b) == 1 and a.others(rid, "rita").viewing == ["sam"]


def test_migration_0010_matches_the_model_and_goes_down(two_apps: tuple[Settings, Store, Store]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from intake.store import migrate
    from intake.store.models import Base

    _, store, _ = two_apps
    assert store.current_revision() == migrate.head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "page_presence" in repr(d)] == []
    migrate.downgrade(store.engine, "0009")
    assert "page_presence" not in store.table_names()
    store.upgrade()
    assert "page_presence" in store.table_names()
