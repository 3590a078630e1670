"""CSRF: every form needs the session's token; without it nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dissensus.knowledge import KnowledgeBase
from dissensus.web import Role

from .conftest import PASSWORD, Seeded

ClientAs = Callable[[Role], tuple[TestClient, str]]


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_write_without_the_session_token_is_refused(
    client_as: ClientAs, seeded: Seeded, token: str | None
) -> None:
    client, _ = client_as("admin")
    kb = KnowledgeBase(seeded.db)
    version = kb.version()
    data = {} if token is None else {"csrf_token": token}
    response = client.post(f"/kb/learnings/{seeded.proposed_id}/approve", data=data)
    assert response.status_code == 403
    assert "CSRF token missing or wrong" in response.text
    assert kb.version() == version
    assert kb.get(seeded.proposed_id).status == "proposed"


def test_another_sessions_token_is_refused(client_as: ClientAs, seeded: Seeded) -> None:
    admin, _ = client_as("admin")
    _, reviewers_token = client_as("reviewer")
    response = admin.post(
        f"/review/{seeded.item_id}/submit",
        data={"csrf_token": reviewers_token, "value:Brand": "Kaito"},
    )
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_login_and_logout_need_the_token_too(app: FastAPI, client_as: ClientAs) -> None:
    with TestClient(app) as client:
        response = client.post("/login", data={"name": "adam", "password": PASSWORD})
        assert response.status_code == 403
        assert "/login" in str(client.get("/", follow_redirects=False).headers["location"])
    admin, token = client_as("admin")
    assert admin.post("/logout", data={}).status_code == 403
    assert admin.post("/logout", data={"csrf_token": token}).url.path == "/login"
    assert admin.get("/", follow_redirects=False).status_code == 303


def test_logging_in_starts_a_new_session_token(app: FastAPI) -> None:
    with TestClient(app) as client:
        before = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"name": "vera", "password": PASSWORD, "csrf_token": before})
        after = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert before != after
