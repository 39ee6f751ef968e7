"""The audit trail a request page shows: the request's and its submission's events, with the
outbox's sent and failed replies as rows of their own, in the order they happened.

The outbox records when a reply went out (and how a fax left); the events table does not, so the
trail is assembled here rather than stored twice.
"""

from __future__ import annotations

from typing import Any

from intake.store import Store
from intake.store.store import EventRecord, RequestRecord


def fax_job_text(o: Any) -> str:
    """How a fax reply left, for the trail: " (hylafax job 12, done)"; "" for mail or older rows."""
    if o.channel != "fax" or not o.fax_transport:
        return ""
    job = f" job {o.fax_job}" if o.fax_job else ""
    state = f", {o.fax_state}" if o.fax_state else ""
    return f" ({o.fax_transport}{job}{state})"


def trail_of(store: Store, rec: RequestRecord) -> list[EventRecord]:
    """The events of the request and of its submission as a whole, and its replies sent or given
    up on, oldest first (two events of one moment in the order they were recorded)."""
    events: list[EventRecord] = [e for e in store.events_of(submission_id=rec.submission_id)
                                 if e.request_id in (None, rec.id)]
    for o in store.replies_of(rec.submission_id):
        if o.request_id in (None, rec.id) and o.state == "sent" and o.sent_at is not None:
            events.append(EventRecord(id=0, submission_id=o.submission_id, request_id=o.request_id, at=o.sent_at,
                                      actor="outbox", kind="reply_sent", field=o.kind,
                                      old=None, new=f"{o.channel} to {o.recipient}{fax_job_text(o)}"))
        elif o.request_id in (None, rec.id) and o.state == "permanent_failure":
            events.append(EventRecord(id=0, submission_id=o.submission_id, request_id=o.request_id,
                                      at=o.next_attempt_at, actor="outbox", kind="reply_failed", field=o.kind,
                                      old=None, new=(o.last_error or "")[:200] + fax_job_text(o)))
    events.sort(key=lambda e: (e.at, e.id or 10**12))
    return events


def version_of(store: Store, rid: int) -> str:
    """How many events the request has: a form made before someone else's change is stale."""
    return str(len(store.events_of(request_id=rid)))
