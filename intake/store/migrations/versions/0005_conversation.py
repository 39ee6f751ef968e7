"""The conversation: the Message-ID of every reply we send, and which message answered which request.

An answer to an *information needed* reply is threaded to the request it answers by the reply's
Message-ID (In-Reply-To/References), so each mail reply keeps its own; `answers` links the answering
submission to the request (merged, held for staff, or left unchanged).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `outbox.message_id` (indexed) and the `answers` table."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=998), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_message_id"), ["message_id"], unique=False)
    op.create_table(
        "answers",
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("matched_by IN ('message_id', 'subject', 'body', 'return_page')",
                           name=op.f("ck_answers_matched_by")),
        sa.CheckConstraint("outcome IN ('merged', 'held', 'unchanged')", name=op.f("ck_answers_outcome")),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_answers_submission_id_submissions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"],
                                name=op.f("fk_answers_request_id_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("submission_id", "request_id", name=op.f("pk_answers")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    """Drop `answers` and `outbox.message_id` (threading then falls back to references in subjects)."""
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_request_id"))
    op.drop_table("answers")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_id"))
        batch_op.drop_column("message_id")
