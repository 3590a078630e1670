"""The JSON API: token auth and roles, every endpoint, and the same numbers as the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dissensus.cli import app as cli
from dissensus.config import GeneratorConfig, Settings
from dissensus.knowledge import KnowledgeBase
from dissensus.llm.testing import ScriptedLLM
from dissensus.web import create_app

from .conftest import SECRET, USERS, Seeded, cheap_users, no_model

API = "/api/v1"


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def bearer(seeded: Seeded, role: str, *, token_role: Any = None) -> dict[str, str]:
    _, secret = cheap_users(seeded.db).add_token(USERS[role], f"{role}-test", token_role)  # type: ignore[index]
    return {"Authorization": f"Bearer {secret}"}


def test_no_token_a_wrong_one_or_a_revoked_one_is_401(api: TestClient, seeded: Seeded) -> None:
    assert api.get(f"{API}/runs").status_code == 401
    assert api.get(f"{API}/runs", headers={"Authorization": "Bearer dss_x_y"}).status_code == 401
    headers = bearer(seeded, "viewer")
    assert api.get(f"{API}/runs", headers=headers).status_code == 200
    token_id = headers["Authorization"].split("_")[1]
    cheap_users(seeded.db).revoke_token(token_id)
    response = api.get(f"{API}/runs", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_roles_follow_the_web_matrix_and_a_token_is_never_more_than_its_user(
    api: TestClient, seeded: Seeded
) -> None:
    viewer = bearer(seeded, "viewer")
    refused = api.post(f"{API}/kb/learnings/{seeded.proposed_id}/approve", json={}, headers=viewer)
    assert refused.status_code == 403 and "may not approve" in refused.json()["detail"]
    with pytest.raises(Exception, match="cannot be admin"):
        bearer(seeded, "reviewer", token_role="admin")
    # An admin's viewer token reads but may not approve.
    narrowed = bearer(seeded, "admin", token_role="viewer")
    assert (
        api.post(
            f"{API}/kb/learnings/{seeded.proposed_id}/approve", json={}, headers=narrowed
        ).status_code
        == 403
    )


def test_governance_writes_are_recorded_under_the_tokens_user(
    api: TestClient, seeded: Seeded
) -> None:
    reviewer = bearer(seeded, "reviewer")
    done = api.post(
        f"{API}/kb/learnings/{seeded.proposed_id}/approve",
        json={"reason": "checked against the catalog"},
        headers=reviewer,
    )
    assert done.status_code == 200, done.text
    assert done.json()["approved"] is True
    event = KnowledgeBase(seeded.db).history(learning_id=seeded.proposed_id)[-1]
    assert (event.actor, event.reason) == (USERS["reviewer"], "checked against the catalog")
    missing = api.post(f"{API}/kb/learnings/L-nope/approve", json={}, headers=reviewer)
    assert missing.status_code == 404
    # In deploy-and-learn mode an approval publishes at once.
    listed = api.get(f"{API}/kb/learnings?status=active", headers=reviewer).json()
    assert sorted(lr["id"] for lr in listed) == sorted([seeded.active_id, seeded.proposed_id])
    assert api.get(f"{API}/kb/learnings/{seeded.active_id}", headers=reviewer).status_code == 200
    assert api.get(f"{API}/kb/version", headers=reviewer).json()["version"] >= 3
    provenance = api.get(f"{API}/kb/learnings/{seeded.active_id}/provenance", headers=reviewer)
    assert provenance.status_code == 200, provenance.text
    sources = KnowledgeBase(seeded.db).get(seeded.active_id).sources
    assert [c["source"] for c in provenance.json()["cases"]] == sources
    assert isinstance(provenance.json()["uses"], list)
    gone = api.get(f"{API}/kb/learnings/L-nope/provenance", headers=reviewer)
    assert gone.status_code == 404


def test_runs_and_records_match_the_cli_json_and_the_dashboard(
    api: TestClient, seeded: Seeded, home: Path
) -> None:
    from dissensus.web._reports import run_series

    headers = bearer(seeded, "viewer")
    runs = api.get(f"{API}/runs", headers=headers).json()
    listed = CliRunner().invoke(cli, ["runs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert runs == [json.loads(line) for line in listed.output.splitlines()]
    dashboard = {p.run_id: p for p in run_series(seeded.db)}
    for run in runs:
        point = dashboard[run["run_id"]]
        assert (run["summary"]["products"], run["summary"]["supervisor_calls"]) == (
            point.products,
            point.supervisor_calls,
        )
    one = api.get(f"{API}/runs/run-1", headers=headers).json()
    assert one == next(r for r in runs if r["run_id"] == "run-1")
    assert api.get(f"{API}/runs/nope", headers=headers).status_code == 404

    records = api.get(f"{API}/runs/run-1/records?offset=1&limit=1", headers=headers).json()
    assert [(r["seq"], r["record"]["id"]) for r in records] == [(1, "k1")]
    detail = api.get(f"{API}/runs/run-1/records/0", headers=headers).json()
    assert detail["supervisor"]["resolution"]["values"] == {"Brand": "Kaito"}
    assert detail["calls"] == []
    assert api.get(f"{API}/runs/run-1/records/9", headers=headers).status_code == 404


def test_the_review_queue_claim_and_submit(api: TestClient, seeded: Seeded) -> None:
    reviewer = bearer(seeded, "reviewer")
    items = api.get(f"{API}/review/items", headers=reviewer).json()
    assert [i["id"] for i in items] == [seeded.item_id]
    # The desk's filters: category subtree and text, as the web queue applies them.
    for query, expected in [
        ("category=Home", [seeded.item_id]),
        ("category=Garden", []),
        ("q=kaito", [seeded.item_id]),
        ("q=no-such-text", []),
    ]:
        found = api.get(f"{API}/review/items?{query}", headers=reviewer).json()
        assert [i["id"] for i in found] == expected, query
    assert api.get(f"{API}/review/items/{seeded.item_id}", headers=reviewer).status_code == 200
    claimed = api.post(f"{API}/review/items/{seeded.item_id}/claim", headers=reviewer)
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == USERS["reviewer"]
    other = bearer(seeded, "admin")
    taken = api.post(
        f"{API}/review/items/{seeded.item_id}/submit", json={"values": {}}, headers=other
    )
    assert taken.status_code == 409 and "claimed by" in taken.json()["detail"]
    submitted = api.post(
        f"{API}/review/items/{seeded.item_id}/submit",
        json={"values": {"Brand": "Kaito"}},
        headers=reviewer,
    )
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["result"]["record"]["attributes"]["Brand"]["value"] == "Kaito"
    assert body["result"]["record"]["attributes"]["Brand"]["status"] == "human"
    assert body["output"]["outcome"] == "rewritten"
    assert api.post(f"{API}/review/next", headers=reviewer).json() is None


def test_the_openapi_document_lists_every_endpoint(api: TestClient) -> None:
    paths = set(api.get(f"{API}/openapi.json").json()["paths"])
    assert {
        "/enrich",
        "/runs",
        "/runs/{run_id}",
        "/runs/{run_id}/records",
        "/runs/{run_id}/records/{seq}",
        "/review/items",
        "/review/items/{item_id}",
        "/review/next",
        "/review/items/{item_id}/claim",
        "/review/items/{item_id}/release",
        "/review/items/{item_id}/submit",
        "/kb/learnings",
        "/kb/learnings/{learning_id}",
        "/kb/version",
        "/kb/learnings/{learning_id}/approve",
        "/kb/learnings/{learning_id}/reject",
        "/kb/learnings/{learning_id}/deprecate",
        "/kb/learnings/{learning_id}/reactivate",
    } <= paths


SCHEMA = {"categories": [{"path": "Home > Knives", "attributes": [{"name": "Brand"}]}]}


def test_enrich_answers_with_records_and_a_run_can_be_started_and_polled(
    seeded: Seeded, home: Path
) -> None:
    settings = Settings(
        home=home,
        generators=[GeneratorConfig(model="scripted:echo")] * 2,
        supervisor="scripted:echo",
        evaluator=None,
    )
    app = create_app(
        settings,
        secret_key=SECRET,
        db=seeded.db,
        memory_manager=ScriptedLLM("scripted:memory", no_model),
        users=cheap_users(seeded.db),
    )
    headers = bearer(seeded, "reviewer")
    products = [
        {"id": f"n{i}", "title": f"Nakano Chef Knife {i}", "category": "Home > Knives"}
        for i in range(3)
    ]
    with TestClient(app) as api:
        assert (
            api.post(f"{API}/enrich", json={"products": products, "schema": SCHEMA}).status_code
            == 401
        )
        viewer = bearer(seeded, "viewer")
        assert (
            api.post(
                f"{API}/enrich", json={"products": products, "schema": SCHEMA}, headers=viewer
            ).status_code
            == 403
        )
        done = api.post(
            f"{API}/enrich", json={"products": products, "schema": SCHEMA, "run_id": "api-1"},
            headers=headers,
        )  # fmt: skip
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["run_id"] == "api-1" and body["summary"]["products"] == 3
        assert [r["id"] for r in body["records"]] == ["n0", "n1", "n2"]
        too_many = api.post(
            f"{API}/enrich", json={"products": products * 17, "schema": SCHEMA}, headers=headers
        )
        assert too_many.status_code == 413
        bad = api.post(
            f"{API}/enrich", json={"products": products, "schema": {"categories": "x"}},
            headers=headers,
        )  # fmt: skip
        assert bad.status_code == 422

        started = api.post(
            f"{API}/runs", json={"products": products, "schema": SCHEMA, "run_id": "api-2"},
            headers=headers,
        )  # fmt: skip
        assert started.status_code == 202 and started.json()["href"] == f"{API}/runs/api-2"
        import time

        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            got = api.get(f"{API}/runs/api-2", headers=headers)
            status = got.json().get("status") if got.status_code == 200 else None
            if status == "completed":
                break
            time.sleep(0.1)
        assert status == "completed"
        assert api.get(f"{API}/runs/api-2", headers=headers).json()["summary"]["products"] == 3
