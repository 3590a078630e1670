"""/healthz, /metrics and a record's page with the model calls behind its values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dissensus.storage.tables import ModelCall

from .conftest import Seeded

ClientAs = Callable[[str], tuple[TestClient, str]]


def test_healthz_answers_without_a_login(app: object) -> None:
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "schema": "0012"}


def test_metrics_are_prometheus_text_read_from_the_database(app: object, seeded: Seeded) -> None:
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("dissensus_learnings", (("kind", "rule"), ("status", "active")))] == 1
    assert samples[("dissensus_learnings", (("kind", "rule"), ("status", "proposed")))] == 1
    assert samples[("dissensus_runs", (("status", "completed"),))] == 1
    assert samples[("dissensus_runs", (("status", "running"),))] == 1
    assert sum(v for (n, _), v in samples.items() if n == "dissensus_review_queue_items") == 1


def test_a_record_page_shows_its_values_and_the_exact_prompts_behind_them(
    client_as: ClientAs, seeded: Seeded
) -> None:
    with seeded.db.write() as session:
        session.add(
            ModelCall(
                run_id="run-1",
                product_id="k1",
                seq=1,
                stage="supervisor",
                model="scripted:supervisor",
                requests=1,
                input_tokens=321,
                output_tokens=12,
                latency_ms=1234.5,
                ok=True,
                at=datetime.now(UTC),
                system="You resolve disputes.",
                prompt="Product k1: <Kaito Chef Knife 8in>",
                response='{"Brand": "Kaito"}',
                learnings=[seeded.active_id],
            )
        )
    client, _ = client_as("viewer")
    page = client.get("/runs/run-1/records/1")
    assert page.status_code == 200, page.text
    assert "Record 1 of run" in page.text and "k1" in page.text
    assert "Product k1: &lt;Kaito Chef Knife 8in&gt;" in page.text  # escaped, not markup
    assert "1.234 s" in page.text and "321 → 12 tokens" in page.text
    assert f"/kb/learnings/{seeded.active_id}" in page.text
    assert client.get("/runs/run-1/records/99").status_code == 404
    learning = client.get(f"/kb/learnings/{seeded.active_id}")
    assert "/runs/run-1/records/0" in learning.text
