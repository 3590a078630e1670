"""Fixtures for storage tests: a scratch database on SQLite, or PostgreSQL when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

PG_URL = os.environ.get("DISSENSUS_TEST_PG_URL")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``DISSENSUS_HOME`` so no test touches ``~/.dissensus``."""
    home = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(home))
    return home


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, home: Path) -> Iterator[Database]:
    """A migrated, empty database; the PostgreSQL variant skips unless DISSENSUS_TEST_PG_URL."""
    url = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("set DISSENSUS_TEST_PG_URL=postgresql+psycopg://... to run on PostgreSQL")
        url = PG_URL
    with scratch_database(home, url=url) as database:
        yield database
