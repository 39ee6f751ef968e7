"""Strict sealing: the `store_meta` table, and `sealed_only` set on a database made new.

A value without the sealed prefix used to be read as a row from before encryption, so whoever can
write the database could forge a field in clear. A database that starts empty has never held such
rows: it is marked `sealed_only` here and refuses clear values from the start. An older database
that already holds submissions is left unmarked (its clear rows still open) until
`coc-intake keys reencrypt` has sealed everything and marks it.

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED_ONLY = "sealed_only"


def upgrade() -> None:
    """Create `store_meta`; mark the database `sealed_only` when it holds no submission yet."""
    meta = op.create_table(
        "store_meta",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_meta")),
    )
    empty = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM submissions")).scalar() == 0
    if empty:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        op.bulk_insert(meta, [{"name": SEALED_ONLY, "value": f"created {stamp}"}])


def downgrade() -> None:
    """Drop `store_meta` (clear values are accepted again)."""
    op.drop_table("store_meta")
