"""Web sessions on the server, so they can end; users can be disabled; signals name an author;
learnings count the reviewed outcomes of the values they gave.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_web_sessions_user_name", "web_sessions", ["user_name"])
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("author", sa.String(200), nullable=True))
    with op.batch_alter_table("learnings") as batch:
        batch.add_column(sa.Column("helpful", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("harmful", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("learnings") as batch:
        batch.drop_column("harmful")
        batch.drop_column("helpful")
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("author")
    op.drop_index("ix_web_sessions_user_name", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
