"""Learnings as data: a kind (rule, value, example) and structured values.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("learnings") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), server_default="rule", nullable=False))
        batch.add_column(
            sa.Column("values", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("learnings") as batch:
        batch.drop_column("values")
        batch.drop_column("kind")
