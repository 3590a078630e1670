"""The call log: each model call keeps its prompt, answer, finish reason and the learnings it
saw, and names the record it worked on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("system", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prompt", sa.Text(), nullable=True))
        batch.add_column(sa.Column("response", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("finish_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("learnings", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("cache_read_tokens", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index("ix_model_calls_run_seq", "model_calls", ["run_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_model_calls_run_seq", table_name="model_calls")
    with op.batch_alter_table("model_calls") as batch:
        for name in ("cache_read_tokens", "learnings", "finish_reason", "error", "response",
                     "prompt", "system", "seq"):  # fmt: skip
            batch.drop_column(name)
