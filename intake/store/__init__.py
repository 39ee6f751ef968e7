"""The durable store: SQLAlchemy models, Alembic migrations and the `Store` API every stage calls."""

from intake.store.store import (
    EventRecord,
    Incoming,
    NotFound,
    OutboxItem,
    RequestRecord,
    StateConflict,
    Store,
    SubmissionRecord,
    Waiting,
    body_hash,
    header_message_id,
    search_columns,
)

__all__ = [
    "EventRecord",
    "Incoming",
    "NotFound",
    "OutboxItem",
    "RequestRecord",
    "StateConflict",
    "Store",
    "SubmissionRecord",
    "Waiting",
    "body_hash",
    "header_message_id",
    "search_columns",
]
