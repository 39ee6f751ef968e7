"""An index for the per-sender rate limit: replies to a recipient (case-insensitive) since a time.

`OutboxStore.replies_since` runs once per reply; without it each count read every reply of the last
hour, so a busy hour made each reply slower than the one before (issue 13).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index `lower(recipient), created_at` of the outbox."""
    op.create_index("ix_outbox_recipient_lower", "outbox", [sa.text("lower(recipient)"), "created_at"])


def downgrade() -> None:
    """Drop the index (counts then scan the hour's replies again)."""
    op.drop_index("ix_outbox_recipient_lower", table_name="outbox")
