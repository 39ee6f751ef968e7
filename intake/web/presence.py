"""Who else has a request open: the review pages' heartbeats, kept in the store.

Several web processes, on one machine or several, share the work through the store, so a clerk
served by one process must see the colleague whose page another process served. Each open page
says so every 20 s (`POST /requests/N/presence`, and once more when it is closed); a row is the
last such word of one user on one request (`page_presence`, migration 0010). A row older than
`PRESENCE_SECONDS` is a page closed without saying so (a crashed browser, a lost network): it is
not counted and the next heartbeat of anyone sweeps it away, so the table holds only open pages.

Both backends write the row with one `INSERT ... ON CONFLICT DO UPDATE`, so two processes
touching the same row at once do not fail on the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from intake.store import Store
from intake.store.web_models import PagePresence

PRESENCE_SECONDS = 60  # a page that sent no heartbeat for this long is closed


@dataclass(frozen=True)
class Others:
    """The other staff with the request open: all of them, and those with unsaved changes."""

    viewing: list[str]
    editing: list[str]


class Presence:
    """Who has which request open, from the pages' heartbeats, for every process on the store."""

    def __init__(self, store: Store, *, seconds: float = PRESENCE_SECONDS) -> None:
        self._store = store
        self._seconds = seconds

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def touch(self, rid: int, name: str, *, editing: bool = False) -> None:
        """`name` has the page of request `rid` open; `editing`: with changes not saved yet."""
        now = self._now()
        insert = postgresql.insert if self._store.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(PagePresence).values(request_id=rid, user_name=name, last_seen=now, editing=editing)
        stmt = stmt.on_conflict_do_update(index_elements=["request_id", "user_name"],
                                          set_={"last_seen": now, "editing": editing})
        with Session(self._store.engine) as s, s.begin():
            s.execute(delete(PagePresence).where(PagePresence.last_seen < now - timedelta(seconds=self._seconds)))
            s.execute(stmt)

    def leave(self, rid: int, name: str) -> None:
        """The page was closed (or left for another)."""
        with Session(self._store.engine) as s, s.begin():
            s.execute(delete(PagePresence).where(PagePresence.request_id == rid, PagePresence.user_name == name))

    def others(self, rid: int, name: str) -> Others:
        """The other staff whose page of this request sent a heartbeat within `PRESENCE_SECONDS`."""
        since = self._now() - timedelta(seconds=self._seconds)
        q = (select(PagePresence.user_name, PagePresence.editing)
             .where(PagePresence.request_id == rid, PagePresence.user_name != name, PagePresence.last_seen >= since)
             .order_by(PagePresence.user_name))
        with Session(self._store.engine) as s:
            rows = [(str(u), bool(e)) for u, e in s.execute(q)]
        return Others(viewing=[u for u, _ in rows], editing=[u for u, e in rows if e])
