"""Tables of the durable store (SQLAlchemy 2, typed); the Alembic migrations create the same schema.

The states in these tables are the truth: each stage moves a row from one state to the next in one
transaction, and a restart resumes what is unfinished. Duplicates are made impossible by unique
constraints, not by checks in code, so that concurrent writers (threads, processes, machines
sharing PostgreSQL) cannot both insert the same message or queue the same reply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# The stored values, defined once in intake.store.states (re-exported here for the migrations).
from intake.store.states import (
    ANSWER_MATCHES,
    ANSWER_OUTCOMES,
    CHANNELS,
    OUTBOX_STATES,
    REPLY_CHANNELS,
    REPLY_KINDS,
    REQUEST_STATES,
    SUBMISSION_STATES,
)

__all__ = ["ANSWER_MATCHES", "ANSWER_OUTCOMES", "CHANNELS", "OUTBOX_STATES", "REPLY_CHANNELS", "REPLY_KINDS",
           "REQUEST_STATES", "SUBMISSION_STATES", "Answer", "Base", "Event", "ImapSeen", "Outbox", "Request",
           "SourceState", "StoreMeta", "Submission", "SubmissionPart"]

# Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones: values are stored as naive UTC text (which also sorts correctly), and
    read back as aware UTC, so comparisons with `datetime.now(UTC)` work the same on both backends.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Integer primary keys: 64-bit on PostgreSQL, INTEGER on SQLite (only that is its rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Blob = LargeBinary().with_variant(BYTEA(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Submission(Base):
    """What one channel delivered, byte for byte, and how far it has got."""

    __tablename__ = "submissions"
    __table_args__ = (
        # Same IMAP message (folder, UIDVALIDITY, UID) stored once. NULLs are distinct, so rows
        # from other channels never collide here.
        UniqueConstraint("imap_folder", "imap_uidvalidity", "imap_uid", name="uq_submissions_imap"),
        Index("ix_submissions_state", "state", "id"),
        CheckConstraint(_one_of("state", SUBMISSION_STATES), name="state"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(Json, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raw: Mapped[bytes] = mapped_column(Blob)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # The identity duplicates are recognised by: sha256 over Message-ID + body hash for mail,
    # "fax:" + file hash for faxes, "raw:" + hash for mail without a Message-ID. Unique.
    content_key: Mapped[str] = mapped_column(String(80), unique=True)
    imap_folder: Mapped[str | None] = mapped_column(String(500))
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    fax_filename: Mapped[str | None] = mapped_column(Text)
    fax_sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="received")
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Sender trust (migration 0003): the SMTP session as the client gave it (MAIL FROM is `sender`),
    # and the verdict the extract stage computed (`intake.senderauth.Verdict` as JSON).
    client_ip: Mapped[str | None] = mapped_column(String(64))
    helo: Mapped[str | None] = mapped_column(Text)
    sender_auth: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImapSeen(Base):
    """Every IMAP (folder, UIDVALIDITY, UID) a submission was read from, duplicates included.

    A message that turned out to be a duplicate of an earlier one (same Message-ID and body) is
    recorded here too, so `imap_known` never asks for its bytes again.
    """

    __tablename__ = "imap_seen"

    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionPart(Base):
    """One readable piece of a submission, as the extraction reported it."""

    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("submission_id", "seq", name="uq_parts_submission_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)


class Request(Base):
    """One certificate request found in a submission, with everything staff need to finish it."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("submission_id", "seq", name="uq_requests_submission_seq"),
        Index("ix_requests_state", "state", "id"),
        CheckConstraint(_one_of("state", REQUEST_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # COC-2026-000123: prefix, year received, the row id; unique and easy to read on the phone.
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(Json)
    problems: Mapped[list[Any]] = mapped_column(Json, default=list)
    confidence: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Search columns, copied from `fields` when it is written; never a full SSN.
    ssn_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    worker_name: Mapped[str | None] = mapped_column(Text)
    employer_name: Mapped[str | None] = mapped_column(Text)
    employer_ein: Mapped[str | None] = mapped_column(String(16), index=True)
    country: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """The audit trail: who changed what, when; old and new values are masked by the caller."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    submission_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(200))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


class Outbox(Base):
    """A rendered reply waiting to go out, and what happened when we tried."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        CheckConstraint(_one_of("state", OUTBOX_STATES), name="state"),
        CheckConstraint(_one_of("kind", REPLY_KINDS), name="kind"),
        CheckConstraint(_one_of("channel", REPLY_CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # "s<submission>:r<request or ->:<kind>:<generation>", unique: one reply can never be queued
    # twice, also when the request is absent (a NULL would not collide in a plain unique key).
    reply_key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(Text, index=True)
    message: Mapped[bytes] = mapped_column(Blob)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Set when a sender takes the reply (state `sending`): one sender at a time, and a reply left
    # in `sending` by a crash is found by its age and queued again.
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Message-ID of a mail reply (migration 0005): an answer naming it in In-Reply-To or
    # References is threaded to this reply's submission and request.
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    # Fax replies (`intake.faxout`): how it left ("folder", "hylafax", "email"), the fax server's job
    # id and that job's last known state ("ready", "done", "failed"...), followed until done.
    fax_transport: Mapped[str | None] = mapped_column(String(16))
    fax_job: Mapped[str | None] = mapped_column(String(64))
    fax_state: Mapped[str | None] = mapped_column(String(32))


# The per-sender rate limit counts a recipient's replies of the last hour, case-insensitively
# (`OutboxStore.replies_since`, once per reply): without this index every count read all of the
# hour's replies (migration 0011).
Index("ix_outbox_recipient_lower", func.lower(Outbox.recipient), Outbox.created_at)


class Answer(Base):
    """A message that answered one of our replies, and the request it answered (migration 0005).

    The answer stays a submission of its own (its bytes, parts and audit trail), but it makes no
    request: its values were merged into the request it answers, or it is held for staff beside it.
    """

    __tablename__ = "answers"
    __table_args__ = (
        CheckConstraint(_one_of("matched_by", ANSWER_MATCHES), name="matched_by"),
        CheckConstraint(_one_of("outcome", ANSWER_OUTCOMES), name="outcome"),
    )

    submission_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True, index=True)
    matched_by: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceState(Base):
    """Per-source bookkeeping that must survive a restart, e.g. an IMAP folder's UIDVALIDITY."""

    __tablename__ = "source_state"

    name: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoreMeta(Base):
    """Facts about the database itself (migration 0007), e.g. `sealed_only`: since when every sealed
    column must hold a sealed value, so a value in clear is refused (`Store._unseal`)."""

    __tablename__ = "store_meta"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
