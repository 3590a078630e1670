"""Scratch databases for tests, in this package so every room's tests open them the same way.

SQLite goes in a temporary directory; a PostgreSQL URL (a throwaway test database) is wiped
before use, so tests can run against both with one fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from dissensus.storage.database import Database
from dissensus.storage.tables import Base

__all__ = ["reset_database", "scratch_database"]


def reset_database(url: str) -> None:
    """Drop every dissensus table and the migration marker from a server database.

    Only for throwaway test databases: it deletes data.
    """
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@contextmanager
def scratch_database(directory: Path, *, url: str | None = None) -> Iterator[Database]:
    """An empty, migrated database for one test; closed afterwards.

    Args:
        directory: Used as the dissensus home when ``url`` is ``None`` (SQLite).
        url: A server database to wipe and use instead (e.g. from ``DISSENSUS_TEST_PG_URL``).
    """
    if url is not None:
        reset_database(url)
    db = Database.open(url, home=directory)
    try:
        yield db
    finally:
        db.close()
