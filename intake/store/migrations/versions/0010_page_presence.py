"""Who has which request open, in the store (`page_presence`), so that every web process sees the
pages the others serve (issue 16: it was one process's memory).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `page_presence`: one row per open page (request, user), its last heartbeat."""
    op.create_table(
        "page_presence",
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("editing", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"],
                                name=op.f("fk_page_presence_request_id_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "user_name", name=op.f("pk_page_presence")),
    )
    op.create_index("ix_page_presence_last_seen", "page_presence", ["last_seen"])


def downgrade() -> None:
    """Drop `page_presence` (only who had a page open is lost)."""
    op.drop_index("ix_page_presence_last_seen", table_name="page_presence")
    op.drop_table("page_presence")
