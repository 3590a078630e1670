"""Every page renders for a viewer and shows what it is for."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .conftest import Seeded

ClientAs = Callable[[str], tuple[TestClient, str]]


def test_anonymous_page_views_redirect_to_the_login_page(app: object) -> None:
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.get("/kb?status=active", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/kb%3Fstatus%3Dactive"


def test_a_wrong_password_is_refused_with_401(app: object) -> None:
    with TestClient(app) as client:  # type: ignore[arg-type]
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"name": "vera", "password": "nope nope", "csrf_token": token}
        )
    assert response.status_code == 401
    assert "Unknown user or wrong password." in response.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "Dashboard"),
        ("/kb", "Knowledge base"),
        ("/kb/history", "History"),
        ("/kb/diff?from=0", "Changes from version 0"),
        ("/review", "Review queue"),
        ("/review?state=all", "k1"),
    ],
)
def test_pages_render_for_a_viewer(client_as: ClientAs, path: str, expected: str) -> None:
    client, _ = client_as("viewer")
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert expected in response.text


def test_the_learning_page_shows_cases_supervisor_reasoning_and_outputs(
    client_as: ClientAs, seeded: Seeded
) -> None:
    client, _ = client_as("viewer")
    page = client.get(f"/kb/learnings/{seeded.proposed_id}").text
    assert "run-1:k1" in page
    assert "the knife type follows the brand in the title" in page
    page = client.get(f"/kb/learnings/{seeded.active_id}").text
    # run-1:k0 was settled without review: its reasoning comes from the stored record.
    assert "generator b kept the knife type" in page
    # k0 and k1 of both runs cite the active learning for Brand.
    assert page.count("<td>Brand</td>") == 4
    assert "run-1#0" in page and "run-2#1" in page


def test_the_review_item_page_shows_every_answer(client_as: ClientAs, seeded: Seeded) -> None:
    client, _ = client_as("reviewer")
    page = client.get(f"/review/{seeded.item_id}").text
    for text in (
        "Kaito Chef Knife 20 cm",
        "generator-a",
        "Kaito Chef",
        "needs_review",
        'name="value:Brand"',
    ):
        assert text in page


@pytest.mark.parametrize("name", ["disagreement", "supervisor", "cost", "queue", "kb"])
def test_charts_are_svg_drawn_on_the_server(client_as: ClientAs, name: str) -> None:
    client, _ = client_as("viewer")
    response = client.get(f"/charts/{name}.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.lstrip().startswith("<?xml")


def test_unknown_learning_is_a_404_page(client_as: ClientAs) -> None:
    client, _ = client_as("viewer")
    response = client.get("/kb/learnings/L-nope")
    assert response.status_code == 404
    assert "does not exist" in response.text
