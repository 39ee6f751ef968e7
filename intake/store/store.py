"""The store API the sources, the pipeline, the outbox and the review page call.

Every method is one transaction and holds no process-local state, so that several processes (and
later several machines on PostgreSQL) can call it at once. Duplicates are refused by unique keys in
the database; a method that lost a race sees the winner's row and says so (`created=False`,
`queue_reply` -> False, `StateConflict`), never a second row.

`Store` is a thin facade: each table group has its own module (`submissions`, `requests`, `events`,
`outbox`, `views`, `reprocessing`, `conversation`, on `core`'s engine and sealing) and the records
are in `records`; the names below stay importable from here for the callers.
"""

from __future__ import annotations

from intake.store.conversation import ConversationStore
from intake.store.core import SEALED, KeyUsage, SealKind, StoreCore, aad
from intake.store.events import SYSTEM_ACTORS, EventStore
from intake.store.outbox import OutboxStore
from intake.store.records import (
    EventRecord,
    Incoming,
    NewRequest,
    NotFound,
    OutboxItem,
    QueueRow,
    Reprocessed,
    RequestRecord,
    StateConflict,
    SubmissionRecord,
    Waiting,
    as_dict,
    body_hash,
    dig,
    header_message_id,
    jsonable,
    normalise_message_id,
    search_columns,
    split_message,
)
from intake.store.reprocessing import ReprocessStore
from intake.store.states import REPROCESSABLE_STATES, Channel
from intake.store.views import ViewStore

# The names older callers used.
_aad = aad
_as_dict = as_dict
_jsonable = jsonable

__all__ = [
    "REPROCESSABLE_STATES",
    "SEALED",
    "SYSTEM_ACTORS",
    "Channel",
    "EventRecord",
    "Incoming",
    "KeyUsage",
    "NewRequest",
    "NotFound",
    "OutboxItem",
    "QueueRow",
    "Reprocessed",
    "RequestRecord",
    "SealKind",
    "StateConflict",
    "Store",
    "SubmissionRecord",
    "Waiting",
    "body_hash",
    "dig",
    "header_message_id",
    "normalise_message_id",
    "search_columns",
    "split_message",
]


class Store(ReprocessStore, OutboxStore, EventStore, ViewStore, ConversationStore, StoreCore):
    """The durable store; one per process (engines do not survive `fork`)."""
