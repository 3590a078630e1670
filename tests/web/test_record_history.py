"""A record's value history and restore: on its page, in the API, through reviews."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from dissensus.review import value_history
from dissensus.storage.tables import RunProduct

from .conftest import USERS, Seeded, cheap_users

ClientAs = Callable[[str], tuple[TestClient, str]]


def _brand(seeded: Seeded) -> dict[str, object]:
    with seeded.db.read() as session:
        row = session.get(RunProduct, ("run-1", 1))
        assert row is not None
        return dict(row.output["attributes"]["Brand"])


def test_a_review_writes_the_history_and_an_earlier_value_can_be_restored(
    client_as: ClientAs, seeded: Seeded
) -> None:
    client, csrf = client_as("reviewer")
    client.post(f"/review/{seeded.item_id}/claim", data={"csrf_token": csrf})
    client.post(
        f"/review/{seeded.item_id}/submit",
        data={"csrf_token": csrf, "value:Brand": "Kaito", "value:Knife type": "Chef"},
    )
    (change,) = value_history(seeded.db, "run-1", 1)
    assert (change.attribute, change.before_value, change.before_status) == (
        "Brand", None, "needs_review",
    )  # fmt: skip
    assert (change.after_value, change.actor, change.source) == (
        "Kaito", USERS["reviewer"], f"review:{seeded.item_id}",
    )  # fmt: skip
    page = client.get("/runs/run-1/records/1").text
    assert f"review item {seeded.item_id}" in page and "restore" in page
    assert "/runs/run-2/records/1" in page  # the same product in the other run

    # Another value by hand, then the reviewer's back.
    done = client.post(
        "/runs/run-1/records/1/restore",
        data={"csrf_token": csrf, "attribute": "Brand", "value": "Kaito Chef"},
        follow_redirects=True,
    )
    assert "Restored Brand = Kaito Chef." in done.text
    assert _brand(seeded)["value"] == "Kaito Chef" and _brand(seeded)["status"] == "human"
    client.post(
        "/runs/run-1/records/1/restore",
        data={"csrf_token": csrf, "attribute": "Brand", "value": "Kaito"},
    )
    history = value_history(seeded.db, "run-1", 1)
    assert [(h.before_value, h.after_value, h.source) for h in history] == [
        (None, "Kaito", f"review:{seeded.item_id}"),
        ("Kaito", "Kaito Chef", "restore"),
        ("Kaito Chef", "Kaito", "restore"),
    ]
    assert seeded.output_path.read_text().count('"Kaito"') >= 1  # the file follows
    bad = client.post(
        "/runs/run-1/records/1/restore",
        data={"csrf_token": csrf, "attribute": "Colour", "value": "x"},
        follow_redirects=True,
    )
    assert "has no attribute &#39;Colour&#39;" in bad.text
    viewer, vcsrf = client_as("viewer")
    refused = viewer.post(
        "/runs/run-1/records/1/restore", data={"csrf_token": vcsrf, "attribute": "Brand"}
    )
    assert refused.status_code == 403


def test_the_api_shows_the_history_and_restores(app: object, seeded: Seeded) -> None:
    _, secret = cheap_users(seeded.db).add_token(USERS["reviewer"], "t")
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as api:  # type: ignore[arg-type]
        done = api.post(
            "/api/v1/runs/run-1/records/1/restore",
            json={"attribute": "Brand", "value": None},
            headers=headers,
        )
        assert done.status_code == 200, done.text
        assert done.json()["record"]["attributes"]["Brand"]["status"] == "human"
        detail = api.get("/api/v1/runs/run-1/records/1", headers=headers).json()
        assert [(h["after_value"], h["source"]) for h in detail["history"]] == [(None, "restore")]
        # The same links as the record page: one read behind both.
        assert detail["elsewhere"] == [{"run_id": "run-2", "seq": 1}]
        missing = api.post(
            "/api/v1/runs/run-1/records/99/restore",
            json={"attribute": "Brand", "value": "x"},
            headers=headers,
        )
        assert missing.status_code == 404
