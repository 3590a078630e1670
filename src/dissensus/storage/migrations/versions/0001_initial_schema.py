"""Initial schema: the knowledge tree, its history, and the pipeline's run tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    # Written out rather than importing UTCDateTime: a migration must not change when the
    # models do. UTCDateTime's storage type is exactly this.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "kb_nodes",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_key", sa.String(length=512), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["parent_key"], ["kb_nodes.key"], name=op.f("fk_kb_nodes_parent_key_kb_nodes")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kb_nodes")),
    )
    op.create_index(op.f("ix_kb_nodes_parent_key"), "kb_nodes", ["parent_key"])

    op.create_table(
        "learnings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("node_key", sa.String(length=512), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["node_key"], ["kb_nodes.key"], name=op.f("fk_learnings_node_key_kb_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learnings")),
    )
    op.create_index("ix_learnings_node_key_status", "learnings", ["node_key", "status"])

    op.create_table(
        "kb_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("op", sa.String(length=32), nullable=False),
        sa.Column("learning_id", sa.String(length=32), nullable=True),
        sa.Column("node_key", sa.String(length=512), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_kb_events")),
    )
    op.create_index(op.f("ix_kb_events_learning_id"), "kb_events", ["learning_id"])

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        _timestamp("finished_at", nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("input_path", sa.Text(), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("schema_path", sa.Text(), nullable=False),
        sa.Column("schema_sha256", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )

    op.create_table(
        "run_products",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("disputed_attributes", sa.Integer(), nullable=False),
        sa.Column("supervisor_called", sa.Boolean(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        _timestamp("finished_at"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_products_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_run_products")),
    )

    op.create_table(
        "model_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        _timestamp("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_calls")),
    )
    op.create_index(op.f("ix_model_calls_run_id"), "model_calls", ["run_id"])


def downgrade() -> None:
    op.drop_table("model_calls")
    op.drop_table("run_products")
    op.drop_table("runs")
    op.drop_table("kb_events")
    op.drop_table("learnings")
    op.drop_table("kb_nodes")
