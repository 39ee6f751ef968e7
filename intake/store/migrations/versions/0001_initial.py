"""Initial schema: submissions, IMAP sightings, parts, requests, events, outbox, source state.

Generated with Alembic autogenerate from `intake.store.models`, then checked by hand; the test suite
compares the migrated database with the models on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the model column types (a migration must not change when the models do).
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid alias needs INTEGER
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BLOB = sa.LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")
TS = sa.DateTime(timezone=True)  # stored as naive UTC text on SQLite by intake.store.models.UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "source_state",
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_source_state")),
    )
    op.create_table(
        "submissions",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.Text(), nullable=True),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("raw", BLOB, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("content_key", sa.String(length=80), nullable=False),
        sa.Column("imap_folder", sa.String(length=500), nullable=True),
        sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("imap_uid", sa.BigInteger(), nullable=True),
        sa.Column("fax_filename", sa.Text(), nullable=True),
        sa.Column("fax_sha256", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("channel IN ('imap', 'smtp', 'lmtp', 'fax')", name=op.f("ck_submissions_channel")),
        sa.CheckConstraint(
            "state IN ('received', 'extracted', 'needs_review', 'failed', 'done')", name=op.f("ck_submissions_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("content_key", name=op.f("uq_submissions_content_key")),
        sa.UniqueConstraint("imap_folder", "imap_uidvalidity", "imap_uid", name="uq_submissions_imap"),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_sha256"), ["sha256"], unique=False)
        batch_op.create_index("ix_submissions_state", ["state", "id"], unique=False)

    op.create_table(
        "imap_seen",
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_imap_seen_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("folder", "uidvalidity", "uid", name=op.f("pk_imap_seen")),
    )
    with op.batch_alter_table("imap_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imap_seen_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "parts",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_parts_submission_id_submissions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("submission_id", "seq", name="uq_parts_submission_seq"),
    )
    op.create_table(
        "requests",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("confidence", JSON, nullable=False),
        sa.Column("provenance", JSON, nullable=False),
        sa.Column("ssn_last4", sa.String(length=4), nullable=True),
        sa.Column("worker_name", sa.Text(), nullable=True),
        sa.Column("employer_name", sa.Text(), nullable=True),
        sa.Column("employer_ein", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            (
                "state IN ('received', 'extracted', 'needs_review', 'corrected', 'accepted', "
                "'approved', 'rejected', 'not_a_request')"
            ),
            name=op.f("ck_requests_state"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_requests_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_requests_reference")),
        sa.UniqueConstraint("submission_id", "seq", name="uq_requests_submission_seq"),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_employer_ein"), ["employer_ein"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_ssn_last4"), ["ssn_last4"], unique=False)
        batch_op.create_index("ix_requests_state", ["state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_events_request_id_requests"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_events_submission_id_submissions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("reply_key", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("message", BLOB, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sending_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint("channel IN ('email', 'fax')", name=op.f("ck_outbox_channel")),
        sa.CheckConstraint("kind IN ('received', 'incomplete', 'approved', 'rejected')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'permanent_failure')", name=op.f("ck_outbox_state")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_outbox_request_id_requests"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_outbox_submission_id_submissions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("reply_key", name=op.f("uq_outbox_reply_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    """Drop every table (tests only: this loses all data)."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_submission_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_recipient"))
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))

    op.drop_table("outbox")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_submission_id"))
        batch_op.drop_index(batch_op.f("ix_events_request_id"))

    op.drop_table("events")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_submission_id"))
        batch_op.drop_index("ix_requests_state")
        batch_op.drop_index(batch_op.f("ix_requests_ssn_last4"))
        batch_op.drop_index(batch_op.f("ix_requests_employer_ein"))

    op.drop_table("requests")
    op.drop_table("parts")
    with op.batch_alter_table("imap_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imap_seen_submission_id"))

    op.drop_table("imap_seen")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_state")
        batch_op.drop_index(batch_op.f("ix_submissions_sha256"))
        batch_op.drop_index(batch_op.f("ix_submissions_message_id"))

    op.drop_table("submissions")
    op.drop_table("source_state")
