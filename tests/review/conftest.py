"""Fixtures for review tests: a scratch database (SQLite, or PostgreSQL when configured) and a
way to fill it with runs, output records and review items without running a pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dissensus.domain import (
    AttributeDispute,
    AttributeResult,
    AttributeSpec,
    EnrichedRecord,
    Extraction,
    Product,
    Resolution,
)
from dissensus.review import (
    ReviewContext,
    ReviewQueue,
    ReviewReason,
    ReviewTicket,
    SupervisorView,
)
from dissensus.storage import Database
from dissensus.storage.tables import Run, RunProduct
from dissensus.storage.testing import scratch_database

PG_URL = os.environ.get("DISSENSUS_TEST_PG_URL")

ATTRIBUTES = [
    AttributeSpec(name="Brand", description="The maker as written"),
    AttributeSpec(name="Knife type", values=["Chef", "Paring"]),
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dissensus home, so nothing touches ``~/.dissensus``."""
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return path


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


def add_run(db: Database, run_id: str = "r1", *, output_path: Path | None = None) -> None:
    """A finished run row with no records yet."""
    with db.write() as session:
        session.add(
            Run(
                id=run_id,
                status="completed",
                input_path="in.jsonl",
                input_sha256="0" * 64,
                schema_path="schema.yaml",
                schema_sha256="0" * 64,
                config={},
                summary=None,
                finished_at=None,
                output_path=str(output_path) if output_path else None,
            )
        )


def knife_record(product_id: str, *, waiting: bool = True) -> EnrichedRecord:
    """A knife whose brand waits for a person (or was agreed) and whose type was agreed."""
    brand = (
        AttributeResult(value=None, status="needs_review", confidence=0.0)
        if waiting
        else AttributeResult(value="Acme", status="consensus", confidence=0.9)
    )
    return EnrichedRecord(
        id=product_id,
        category="Home > Knives",
        attributes={
            "Brand": brand,
            "Knife type": AttributeResult(value="Chef", status="consensus", confidence=0.9),
        },
        models=["scripted:gen-a", "scripted:gen-b", "scripted:supervisor"],
    )


def ticket(product_id: str, reason: ReviewReason = "needs_human") -> ReviewTicket:
    """A review ticket as the pipeline makes it for a disputed brand."""
    record = knife_record(product_id, waiting=reason != "audit")
    product = Product(
        id=product_id, title=f"Acme Chef Knife {product_id}", category="Home > Knives"
    )
    return ReviewTicket(
        reason=reason,
        attributes=["Brand"] if reason != "audit" else ["Brand", "Knife type"],
        context=ReviewContext(
            product=product,
            attributes=ATTRIBUTES,
            disputes=[
                AttributeDispute(
                    attribute="Brand",
                    reason="disagreement",
                    candidates={"generator-a": "Acme", "generator-b": "Acme Chef"},
                )
            ],
            extractions=[
                Extraction(model="scripted:gen-a", role="generator-a", values={"Brand": "Acme"}),
                Extraction(
                    model="scripted:gen-b", role="generator-b", values={"Brand": "Acme Chef"}
                ),
            ],
            supervisor=SupervisorView(
                model="scripted:supervisor",
                resolution=Resolution(
                    values={"Brand": "Acme"},
                    confidence=0.2,
                    why_workers_failed="the model name follows the brand",
                    needs_human=True,
                ),
            ),
            record=record,
        ),
    )


def seed(
    db: Database,
    n: int,
    *,
    run_id: str = "r1",
    reasons: list[ReviewReason] | None = None,
    output_path: Path | None = None,
) -> list[int]:
    """A run with ``n`` output records, each with a review item; returns the item ids."""
    add_run(db, run_id, output_path=output_path)
    queue = ReviewQueue(db)
    for seq in range(n):
        reason = reasons[seq % len(reasons)] if reasons else "needs_human"
        t = ticket(f"k{seq}", reason)
        with db.write() as session:
            session.add(
                RunProduct(
                    run_id=run_id,
                    seq=seq,
                    product_id=t.context.record.id,
                    category=t.context.record.category,
                    output=t.context.record.model_dump(mode="json"),
                    disputed_attributes=1,
                    supervisor_called=True,
                    input_tokens=0,
                    output_tokens=0,
                )
            )
            queue.add(session, t, run_id=run_id, seq=seq)
    items = queue.list(run_id=run_id, limit=n + 1)
    return [item.id for item in sorted(items, key=lambda item: item.seq)]
