"""Fixtures for knowledge tests: a scratch knowledge base and scripted memory-manager models."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(params=["sqlite", "postgresql", "dynamodb"])
def any_kb(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The knowledge base on every store it runs on: SQL (SQLite, PostgreSQL) and DynamoDB
    (moto on loopback, fresh tables per test). The PostgreSQL variant skips unless
    DISSENSUS_TEST_PG_URL."""
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    if request.param == "dynamodb":
        from dissensus.knowledge.dynamodb import (
            DynamoKnowledgeBase,
            create_knowledge_tables,
            dynamodb_client,
        )

        endpoint = request.getfixturevalue("moto_endpoint")
        request.getfixturevalue("aws_credentials")
        client = dynamodb_client(endpoint_url=endpoint, region="us-east-1")
        prefix = f"kb-{secrets.token_hex(4)}"
        create_knowledge_tables(client, prefix)
        yield DynamoKnowledgeBase(client, prefix)
        return
    url = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("set DISSENSUS_TEST_PG_URL=postgresql+psycopg://... to run on PostgreSQL")
        url = PG_URL
    with scratch_database(tmp_path / "home", url=url) as database:
        yield KnowledgeBase(database)


def path(text: str) -> CategoryPath:
    """``"Shoes > Sneakers"`` as a :class:`CategoryPath`."""
    return CategoryPath.parse(text)
