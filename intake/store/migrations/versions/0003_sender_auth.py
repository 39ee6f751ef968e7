"""Sender trust: the SMTP session (client IP, HELO) and the sender verdict on each submission.

MAIL FROM is already the submission's `sender`. Batch mode, so SQLite (which cannot ALTER much)
gets the same columns as PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Add `client_ip`, `helo` and `sender_auth` (JSON) to `submissions`; all nullable."""
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ip", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("helo", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sender_auth", JSON, nullable=True))


def downgrade() -> None:
    """Drop the three columns (the verdicts are lost; they can be computed again)."""
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("sender_auth")
        batch_op.drop_column("helo")
        batch_op.drop_column("client_ip")
