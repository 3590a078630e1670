"""Post-inference signals and learning flags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[object]:
    # Written out, not UTCDateTime, as in 0002: a migration must not change when models do.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("attribute", sa.String(length=200), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("published_value", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("contradicts", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=300), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.Column("learnings", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("digest", name=op.f("uq_signals_digest")),
    )
    op.create_index("ix_signals_product_id", "signals", ["product_id"])
    op.create_table(
        "learning_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("learning_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_learning_flags_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_flags")),
    )
    op.create_index("ix_learning_flags_learning_id", "learning_flags", ["learning_id"])


def downgrade() -> None:
    op.drop_index("ix_learning_flags_learning_id", table_name="learning_flags")
    op.drop_table("learning_flags")
    op.drop_index("ix_signals_product_id", table_name="signals")
    op.drop_table("signals")
