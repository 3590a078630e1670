"""Fixtures for web tests: a seeded database (runs, learnings, a review item), users of each
role, the app, and logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web app needs the 'web' extra: pip install -e '.[web]'")

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dissensus.config import Settings
from dissensus.domain import (
    AttributeDispute,
    AttributeResult,
    AttributeSpec,
    CategoryPath,
    EnrichedRecord,
    Extraction,
    Product,
    Resolution,
)
from dissensus.knowledge import KnowledgeBase
from dissensus.llm.testing import ScriptedLLM, ScriptedRequest
from dissensus.review import ReviewContext, ReviewQueue, ReviewTicket, SupervisorView
from dissensus.storage import Database
from dissensus.storage.tables import Run, RunProduct
from dissensus.storage.testing import scratch_database
from dissensus.web import Role, UserStore, create_app

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
USERS: dict[Role, str] = {"viewer": "vera", "reviewer": "rita", "admin": "adam"}
ATTRIBUTES = [
    AttributeSpec(name="Brand", description="The maker as written"),
    AttributeSpec(name="Knife type", values=["Chef", "Paring"]),
]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    """What the seeded database holds, by id."""

    db: Database
    active_id: str
    proposed_id: str
    item_id: int
    output_path: Path


def no_model(request: ScriptedRequest) -> str:
    raise AssertionError(f"the memory manager asked a model: {request.prompt}")


def _record(product_id: str, learning_ids: list[str], *, waiting: bool) -> EnrichedRecord:
    brand = (
        AttributeResult(value=None, status="needs_review", confidence=0.0, learnings=learning_ids)
        if waiting
        else AttributeResult(
            value="Kaito", status="consensus", confidence=0.9, learnings=learning_ids
        )
    )
    return EnrichedRecord(
        id=product_id,
        category="Home > Knives",
        attributes={
            "Brand": brand,
            "Knife type": AttributeResult(value="Chef", status="consensus", confidence=0.9),
        },
        models=["scripted:gen-a", "scripted:gen-b"],
    )


def _ticket(record: EnrichedRecord) -> ReviewTicket:
    return ReviewTicket(
        reason="needs_human",
        attributes=["Brand"],
        context=ReviewContext(
            product=Product(id=record.id, title="Kaito Chef Knife 20 cm", category="Home > Knives"),
            attributes=ATTRIBUTES,
            disputes=[
                AttributeDispute(
                    attribute="Brand",
                    reason="disagreement",
                    candidates={"generator-a": "Kaito", "generator-b": "Kaito Chef"},
                )
            ],
            extractions=[
                Extraction(model="scripted:gen-a", role="generator-a", values={"Brand": "Kaito"}),
                Extraction(
                    model="scripted:gen-b", role="generator-b", values={"Brand": "Kaito Chef"}
                ),
            ],
            supervisor=SupervisorView(
                model="scripted:supervisor",
                resolution=Resolution(
                    values={"Brand": "Kaito"},
                    confidence=0.2,
                    why_workers_failed="the knife type follows the brand in the title",
                    needs_human=True,
                ),
            ),
            record=record,
        ),
    )


def seed(db: Database, out_dir: Path) -> Seeded:
    """Two runs over knives, an active and a proposed learning, one open review item."""
    kb = KnowledgeBase(db)
    node = kb.ensure_path(CategoryPath.parse("Home > Knives"))
    active = kb.add(
        node_key=node,
        text="The brand is the first word of the title.",
        example="Kaito Chef Knife -> Kaito",
        attributes=["Brand"],
        sources=["run-1:k0"],
        actor="memory-manager",
        reason="placed under the knives node",
    )
    proposed = kb.add(
        node_key=node,
        text="A knife type is never part of the brand.",
        attributes=["Brand"],
        sources=["run-1:k1"],
        actor="memory-manager",
        status="proposed",
    )
    output_path = out_dir / "run-1.jsonl"
    records = [
        _record("k0", [active.id], waiting=False),
        _record("k1", [active.id], waiting=True),
        _record("k2", [], waiting=False),
    ]
    queue = ReviewQueue(db)
    with db.write() as session:
        for run_id, status in (("run-1", "completed"), ("run-2", "running")):
            session.add(
                Run(
                    id=run_id,
                    status=status,
                    input_path="in.jsonl",
                    input_sha256="0" * 64,
                    schema_path="schema.yaml",
                    schema_sha256="0" * 64,
                    config={},
                    summary=None,
                    finished_at=None,
                    output_path=str(output_path) if run_id == "run-1" else None,
                )
            )
        session.flush()
        for run_id in ("run-1", "run-2"):
            for seq, record in enumerate(records):
                session.add(
                    RunProduct(
                        run_id=run_id,
                        seq=seq,
                        product_id=record.id,
                        category=record.category,
                        output=record.model_dump(mode="json"),
                        disputed_attributes=1 if seq < 2 else 0,
                        supervisor_called=seq < 2,
                        input_tokens=0,
                        output_tokens=0,
                        # A settled case that never went to review keeps its reasoning here.
                        supervisor=(
                            SupervisorView(
                                model="scripted:supervisor",
                                resolution=Resolution(
                                    values={"Brand": "Kaito"},
                                    confidence=0.9,
                                    why_workers_failed="generator b kept the knife type",
                                ),
                            ).model_dump(mode="json")
                            if seq == 0
                            else None
                        ),
                    )
                )
        queue.add(session, _ticket(records[1]), run_id="run-1", seq=1)
    (item,) = queue.list()
    return Seeded(
        db=db,
        active_id=active.id,
        proposed_id=proposed.id,
        item_id=item.id,
        output_path=output_path,
    )


def cheap_users(db: Database) -> UserStore:
    """A user store with cheap argon2 parameters: tests log in often on shared cores."""
    return UserStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dissensus home, so nothing touches ``~/.dissensus``."""
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def seeded(home: Path, tmp_path: Path) -> Iterator[Seeded]:
    """A migrated database seeded by :func:`seed`, with one user of each role."""
    with scratch_database(home) as db:
        store = cheap_users(db)
        for role, name in USERS.items():
            store.add(name, PASSWORD, role)
        yield seed(db, tmp_path / "out")


@pytest.fixture
def app(seeded: Seeded, home: Path) -> FastAPI:
    """The web app over the seeded database, with a memory manager that must not be asked."""
    settings = Settings.load(None, home=home)
    return create_app(
        settings,
        secret_key=SECRET,
        db=seeded.db,
        memory_manager=ScriptedLLM("scripted:memory", no_model),
        users=cheap_users(seeded.db),
    )


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_RE.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log ``client`` in; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert response.status_code == 200, response.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def client_as(app: FastAPI) -> Iterator[object]:
    """``client_as(role)``: a test client logged in as the user with that role, and its token."""
    clients: list[TestClient] = []

    def make(role: Role) -> tuple[TestClient, str]:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client, log_in(client, USERS[role])

    yield make
    for client in clients:
        client.__exit__(None, None, None)
