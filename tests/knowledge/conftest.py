"""Fixtures for knowledge tests: a scratch knowledge base and scripted memory-manager models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

PG_URL = os.environ.get("DISSENSUS_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A migrated, empty database; the PostgreSQL variant skips unless DISSENSUS_TEST_PG_URL."""
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    url = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("set DISSENSUS_TEST_PG_URL=postgresql+psycopg://... to run on PostgreSQL")
        url = PG_URL
    with scratch_database(tmp_path / "home", url=url) as database:
        yield database


@pytest.fixture
def kb(db: Database) -> KnowledgeBase:
    return KnowledgeBase(db)


def path(text: str) -> CategoryPath:
    """``"Shoes > Sneakers"`` as a :class:`CategoryPath`."""
    return CategoryPath.parse(text)
