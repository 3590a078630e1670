"""Fixtures for knowledge tests: a scratch knowledge base and scripted memory-manager models."""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
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


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """moto's AWS server on a free loopback port (a real HTTP endpoint boto3 talks to).

    It answers one request at a time. DynamoDB makes each transaction atomic; moto's does not
    across threads: it checks the conditions, then writes, and on a failed transaction restores
    a copy of the whole table taken before, undoing other requests' writes in between. Served
    one at a time, each request is atomic as on DynamoDB, while the test's writer threads still
    interleave their reads and conditioned writes.
    """
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("boto3") is None:
        pytest.skip("install the dev extra (moto[server], boto3) to test the DynamoDB store")
    from moto.moto_server import threaded_moto_server as moto_server

    class OneAtATime(moto_server.ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = moto_server.DomainDispatcherApplication(moto_server.create_backend_app)
            self._server = moto_server.make_server(
                self._ip_address,
                self._port,
                app,
                False,  # not threaded
                request_handler=moto_server.MotoRequestHandler,
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = OneAtATime(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


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

        endpoint = request.getfixturevalue("dynamodb_endpoint")
        # moto accepts any credentials; these keep boto3 from looking for real ones.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
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
