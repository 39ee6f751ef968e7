"""The audit trail: one event per change, written by whoever changes something (masked by them).

Events are never updated or deleted; the staff's trail, the "did a person touch this" question of a
reprocess, and the "was a reply decided" question of the sweep are all read from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from intake.store.core import StoreCore
from intake.store.models import Event, Outbox
from intake.store.records import EventRecord

# Actors that are the gateway itself; an event by anyone else on a request means staff touched it.
SYSTEM_ACTORS = frozenset({"pipeline", "replies", "outbox", "reprocess", "imap", "smtp", "lmtp", "fax"})


def staff_touched_query(submission_id: int) -> Any:
    """Request ids of the submission with an event by a person (not the gateway)."""
    return select(Event.request_id).where(
        Event.submission_id == submission_id,
        Event.request_id.is_not(None),
        Event.actor.not_in(sorted(SYSTEM_ACTORS)),
    )


class EventStore(StoreCore):
    """Append to and read the audit trail."""

    def add_event(
        self,
        *,
        actor: str,
        kind: str,
        submission_id: int | None = None,
        request_id: int | None = None,
        field: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> int:
        """Append to the audit trail. `old` and `new` must already be masked by the caller."""
        if submission_id is None and request_id is None:
            raise ValueError("an event belongs to a submission or a request")
        with self._write() as s:
            ev = Event(submission_id=submission_id, request_id=request_id, actor=actor, kind=kind, field=field,
                       old=old, new=new)
            s.add(ev)
            s.flush()
            return int(ev.id)

    def events_of(self, *, submission_id: int | None = None, request_id: int | None = None) -> list[EventRecord]:
        q = select(Event).order_by(Event.id)
        if submission_id is not None:
            q = q.where(Event.submission_id == submission_id)
        if request_id is not None:
            q = q.where(Event.request_id == request_id)
        with self._read() as s:
            return [EventRecord(id=e.id, submission_id=e.submission_id, request_id=e.request_id, at=e.at,
                                actor=e.actor, kind=e.kind, field=e.field, old=e.old, new=e.new)
                    for e in s.scalars(q)]

    def staff_touched(self, submission_id: int) -> set[int]:
        """Ids of the submission's requests with an event by someone other than the gateway itself."""
        q = staff_touched_query(submission_id)
        with self._read() as s:
            return {int(i) for i in s.scalars(q.distinct()) if i is not None}

    def reply_decided(self, submission_id: int) -> bool:
        """True when a reply was queued for the submission or its `no_reply` recorded: one query,
        where the sweep used to load every reply and every event of it."""
        with self._read() as s:
            return bool(s.scalar(select(
                exists().where(Outbox.submission_id == submission_id)
                | exists().where(Event.submission_id == submission_id, Event.kind == "no_reply"))))
