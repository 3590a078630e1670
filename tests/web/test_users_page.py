"""The users page: admins add, disable, enable and remove users, and create and revoke tokens."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import USERS, Seeded, cheap_users

ClientAs = Callable[[str], tuple[TestClient, str]]


def test_only_admins_see_the_users_page(client_as: ClientAs) -> None:
    reviewer, _ = client_as("reviewer")
    assert reviewer.get("/users").status_code == 403
    assert 'href="/users"' not in reviewer.get("/").text
    admin, _ = client_as("admin")
    page = admin.get("/users")
    assert page.status_code == 200 and USERS["viewer"] in page.text
    assert 'href="/users"' in admin.get("/").text


def test_an_admin_manages_users_and_tokens(client_as: ClientAs, seeded: Seeded) -> None:
    admin, csrf = client_as("admin")
    added = admin.post(
        "/users",
        data={"csrf_token": csrf, "name": "nina", "role": "reviewer", "password": "long enough"},
        follow_redirects=True,
    )
    assert "Added nina (reviewer)." in added.text
    short = admin.post(
        "/users",
        data={"csrf_token": csrf, "name": "olga", "role": "viewer", "password": "short"},
        follow_redirects=True,
    )
    assert "too short" in short.text
    made = admin.post(
        "/users/tokens",
        data={"csrf_token": csrf, "label": "sync", "owner": "nina", "role": "viewer"},
    )
    assert made.status_code == 200 and "shown only on this page" in made.text
    secret = made.text.split('<pre class="secret">')[1].split("</pre>")[0]
    store = cheap_users(seeded.db)
    assert store.token_user(secret) is not None
    (token,) = store.tokens("nina")
    assert secret not in admin.get("/users").text  # never shown again
    disabled = admin.post("/users/nina/disable", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Disabled nina." in disabled.text and store.token_user(secret) is None
    admin.post("/users/nina/enable", data={"csrf_token": csrf})
    assert store.token_user(secret) is not None
    admin.post(f"/users/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert store.token_user(secret) is None
    removed = admin.post("/users/nina/remove", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Removed nina" in removed.text and store.get("nina") is None
    own = admin.post(
        f"/users/{USERS['admin']}/remove", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "cannot disable or remove your own account" in own.text
