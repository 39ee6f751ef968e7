"""Fax replies transmitted: how each fax reply left (`fax_transport`), the fax server's job id
(`fax_job`) and the job's last known state (`fax_state`), all on `outbox`; nullable (mail replies,
and fax replies from before, have none). Batch mode for SQLite.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `fax_transport`, `fax_job` and `fax_state` to `outbox`."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fax_transport", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("fax_job", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fax_state", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Drop the three columns (the job ids are lost; HylaFAX keeps its own log)."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("fax_state")
        batch_op.drop_column("fax_job")
        batch_op.drop_column("fax_transport")
