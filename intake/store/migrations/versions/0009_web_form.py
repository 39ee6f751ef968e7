"""The online request form: channel `web` on `submissions`, reply kind `confirm_address` on
`outbox`, and the `web_confirmations` table (`intake.store.online`). Batch mode for SQLite.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHANNELS = "channel IN ('imap', 'smtp', 'lmtp', 'fax')"
NEW_CHANNELS = "channel IN ('imap', 'smtp', 'lmtp', 'fax', 'web')"
OLD_KINDS = "kind IN ('received', 'incomplete', 'approved', 'rejected')"
NEW_KINDS = "kind IN ('received', 'incomplete', 'approved', 'rejected', 'confirm_address')"


def _check(table: str, name: str, condition: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def upgrade() -> None:
    """Allow the `web` channel and the `confirm_address` reply; create `web_confirmations`."""
    _check("submissions", "channel", NEW_CHANNELS)
    _check("outbox", "kind", NEW_KINDS)
    op.create_table(
        "web_confirmations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_web_confirmations_submission_id_submissions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_confirmations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_confirmations_token_hash")),
    )
    op.create_index(op.f("ix_web_confirmations_submission_id"), "web_confirmations", ["submission_id"])


def downgrade() -> None:
    """Drop `web_confirmations` and the web rows' constraints (web submissions must be gone first)."""
    op.drop_index(op.f("ix_web_confirmations_submission_id"), table_name="web_confirmations")
    op.drop_table("web_confirmations")
    _check("outbox", "kind", OLD_KINDS)
    _check("submissions", "channel", OLD_CHANNELS)
