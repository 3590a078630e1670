"""Review queue: items humans review, the run's output path, and users for the web login.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    # Written out rather than importing UTCDateTime: a migration must not change when the
    # models do. UTCDateTime's storage type is exactly this.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Where the run writes its output file, so a review can rewrite it (nullable: older runs).
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("output_path", sa.Text(), nullable=True))

    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        _timestamp("claimed_at", nullable=True),
        _timestamp("claim_expires_at", nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("submission", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'claimed', 'done')", name=op.f("ck_review_items_state")
        ),
        sa.ForeignKeyConstraint(
            ["run_id", "seq"],
            ["run_products.run_id", "run_products.seq"],
            name=op.f("fk_review_items_run_id_run_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_review_items_run_id")),
    )
    op.create_index("ix_review_items_state_priority", "review_items", ["state", "priority", "id"])

    op.create_table(
        "users",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("role IN ('viewer', 'reviewer', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_index("ix_review_items_state_priority", table_name="review_items")
    op.drop_table("review_items")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("output_path")
