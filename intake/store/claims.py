"""Who a request is assigned to: the last `claimed` event of each request (no column of its own, so
the audit trail is the one record of who took a request and when)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from intake.store.models import Event
from intake.store.store import Store

CLAIM_KIND = "claimed"


def assignees(store: Store, request_ids: Collection[int] | None = None) -> dict[int, str]:
    """The clerk each request is assigned to (requests assigned to nobody are left out); of the
    given requests, or of all."""
    q = select(Event.request_id, Event.new).where(Event.kind == CLAIM_KIND).order_by(Event.id)
    if request_ids is not None:
        ids = list(request_ids)
        if not ids:
            return {}
        q = q.where(Event.request_id.in_(ids))
    out: dict[int, str] = {}
    with store._read() as s:
        for rid, new in s.execute(q):
            if rid is None:
                continue
            if new:
                out[int(rid)] = str(new)
            else:
                out.pop(int(rid), None)
    return out
