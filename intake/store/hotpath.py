"""The statements of a mail's way through the pipeline, built once and run as Core on the session's
connection.

Measured on the 2-core test machine (SQLite): an ORM `update(...).where(...).values(...)` built per
call took about 0.6 ms, a `select` about 0.3 ms, against 0.06 ms for the same statement built once
and run on the connection: building, cache-key generation and the ORM's execution layer cost ten
times the statement itself, and a mail's pass ran about a dozen of them (issue 13). The SQL is the
same, so PostgreSQL runs these unchanged.

`core(s)` flushes what the session holds first, as the ORM's autoflush would: the rows (and the
trail's events) are written in the order the code wrote them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from intake.store.models import Event, ImapSeen, Outbox, Request, Submission, SubmissionPart

# The mapped classes' tables (`__table__` is typed as a FromClause, these are Tables).
_SEEN: Table = ImapSeen.__table__  # type: ignore[assignment]
_PART: Table = SubmissionPart.__table__  # type: ignore[assignment]
_SUB: Table = Submission.__table__  # type: ignore[assignment]
_REQ: Table = Request.__table__  # type: ignore[assignment]
_EVENT: Table = Event.__table__  # type: ignore[assignment]
_OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]

# A stored copy of an incoming message (`store_submission`): its IMAP identity, or its content key.
IMAP_SEEN = select(_SEEN.c.submission_id).where(_SEEN.c.folder == bindparam("folder"),
                                                _SEEN.c.uidvalidity == bindparam("uidvalidity"),
                                                _SEEN.c.uid == bindparam("uid"))
INSERT_SUBMISSION = _SUB.insert()
INSERT_IMAP_SEEN = _SEEN.insert()
BY_CONTENT_KEY = select(_SUB.c.id).where(_SUB.c.content_key == bindparam("key"))
SUBMISSION_ROW = select(_SUB).where(_SUB.c.id == bindparam("sid"))
SUBMISSION_STATE = select(_SUB.c.state).where(_SUB.c.id == bindparam("sid"))
SUBMISSION_STATE_REASON = select(_SUB.c.state, _SUB.c.reason).where(_SUB.c.id == bindparam("sid"))
SUBMISSION_STATE_RECEIVED = select(_SUB.c.state, _SUB.c.received_at).where(_SUB.c.id == bindparam("sid"))
# The columns to set are the parameters named after them (`move_submission`).
MOVE_SUBMISSION = update(_SUB).where(_SUB.c.id == bindparam("sid"), _SUB.c.state == bindparam("from_state"))
UPDATE_SUBMISSION = update(_SUB).where(_SUB.c.id == bindparam("sid"))
COUNT_ATTEMPT = (update(_SUB).where(_SUB.c.id == bindparam("sid"), _SUB.c.state == bindparam("waiting"))
                 .values(attempts=_SUB.c.attempts + 1, updated_at=bindparam("now")))
NEXT_SEQ = select(func.coalesce(func.max(_REQ.c.seq) + 1, 0)).where(_REQ.c.submission_id == bindparam("sid"))
INSERT_REQUEST = _REQ.insert()
SET_REFERENCE = update(_REQ).where(_REQ.c.id == bindparam("rid")).values(reference=bindparam("reference"))
INSERT_EVENT = _EVENT.insert()
DELETE_PARTS = delete(_PART).where(_PART.c.submission_id == bindparam("sid"))
INSERT_PART = _PART.insert()
INSERT_REPLY = _OUTBOX.insert()
# A reply taken for sending (`take_due`), one conditional move per row; the hand-over mark before the dot.
TAKE_REPLY = (update(_OUTBOX)
              .where(_OUTBOX.c.id == bindparam("oid"), _OUTBOX.c.state.in_(bindparam("due", expanding=True)))
              .values(state=bindparam("sending"), sending_at=bindparam("when"), attempts=_OUTBOX.c.attempts + 1))
HAND_OVER = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("oid"), _OUTBOX.c.state == bindparam("sending"))
             .values(sent_at=bindparam("now")))
REPLIES_SINCE = select(func.count(_OUTBOX.c.id)).where(func.lower(_OUTBOX.c.recipient) == bindparam("recipient"),
                                                       _OUTBOX.c.created_at >= bindparam("since"))


def core(s: Session) -> Connection:
    """The session's connection, after flushing its pending rows (the ORM's autoflush, by hand)."""
    if s.new or s.dirty or s.deleted:
        s.flush()
    return s.connection()


def add_events(s: Session, *events: dict[str, Any]) -> None:
    """Insert trail events (columns of `Event`; `at` defaults to now) in the order given."""
    rows = [{"submission_id": None, "request_id": None, "field": None, "old": None, "new": None, **e}
            for e in events]
    core(s).execute(INSERT_EVENT, rows)
