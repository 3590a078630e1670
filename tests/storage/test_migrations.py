"""The packaged migrations produce exactly the tables the models declare."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dissensus.storage import Base, Database


def test_migrations_match_the_models_exactly(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_create_every_table(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables == {*Base.metadata.tables, "alembic_version"}
    assert set(Base.metadata.tables) == {
        "kb_nodes",
        "learnings",
        "kb_events",
        "runs",
        "run_products",
        "model_calls",
        "review_items",
        "users",
        "signals",
        "web_sessions",
        "learning_flags",
        "api_tokens",
        "value_changes",
        "track_records",
    }


def test_downgrade_to_base_and_upgrade_again(db: Database) -> None:
    config = db.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert db.current_revision() == db.head_revision()
