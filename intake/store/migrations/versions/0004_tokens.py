"""API tokens expire and record their last use.

Tokens made before this version get an expiry 90 days after the upgrade (none is left without
one), so the certificate system keeps working while its operator issues a new token.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from intake.store.models import UTCDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    """Add `expires_at` and `last_used_at` to `api_tokens`; existing tokens expire in 90 days."""
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", TS, nullable=True))
        batch_op.add_column(sa.Column("last_used_at", TS, nullable=True))
    tokens = sa.table("api_tokens", sa.column("expires_at", UTCDateTime()))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS)))


def downgrade() -> None:
    """Drop both columns (tokens then never expire, as before)."""
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
