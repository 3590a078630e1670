"""Sessions end when they should, users can be removed and disabled, and guessing is throttled.

Probes that failed before: a copied session cookie still worked after logout and after the
password was replaced; there was no way to remove or disable a user; sixty wrong passwords in
18 s met no throttling.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dissensus.web._throttle import LoginThrottle

from .conftest import PASSWORD, USERS, Seeded, cheap_users, csrf_of, log_in

pytest.importorskip("fastapi", reason="the web app needs the 'web' extra")


def copy_of(client: TestClient, app: FastAPI) -> TestClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    other = TestClient(app)
    other.cookies.update(client.cookies)
    return other


def logged_in(client: TestClient) -> bool:
    page = client.get("/", follow_redirects=False)
    return page.status_code == 200


def test_a_copied_cookie_stops_working_after_logout(app: FastAPI) -> None:
    with TestClient(app) as client:
        token = log_in(client, USERS["reviewer"])
        thief = copy_of(client, app)
        assert logged_in(thief)
        client.post("/logout", data={"csrf_token": token})
        assert not logged_in(thief)
        assert not logged_in(client)


def test_a_new_password_a_disabled_or_removed_user_end_every_session(
    app: FastAPI, seeded: Seeded
) -> None:
    store = cheap_users(seeded.db)
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as c:
        log_in(a, USERS["reviewer"])
        store.add(USERS["reviewer"], "a brand new password", "reviewer", replace=True)
        assert not logged_in(a)
        log_in(b, USERS["viewer"])
        store.set_disabled(USERS["viewer"], True)
        assert not logged_in(b)
        refused = b.post(
            "/login",
            data={
                "name": USERS["viewer"],
                "password": PASSWORD,
                "csrf_token": csrf_of(b.get("/login").text),
            },
        )
        assert refused.status_code == 401
        store.set_disabled(USERS["viewer"], False)
        log_in(b, USERS["viewer"])
        assert logged_in(b)
        log_in(c, USERS["admin"])
        store.remove(USERS["admin"])
        assert not logged_in(c)


def test_failed_logins_are_throttled_per_account_and_per_address(app: FastAPI) -> None:
    with TestClient(app) as client:
        token = csrf_of(client.get("/login").text)

        def attempt(name: str, password: str) -> int:
            data = {"name": name, "password": password, "csrf_token": token}
            return client.post("/login", data=data, follow_redirects=False).status_code

        assert [attempt(USERS["reviewer"], "wrong guess") for _ in range(5)] == [401] * 5
        # The sixth attempt waits, even with the right password.
        blocked = client.post(
            "/login",
            data={"name": USERS["reviewer"], "password": PASSWORD, "csrf_token": token},
        )
        assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
        assert int(blocked.headers["Retry-After"]) > 0
        # Another account is still open from this address until the address limit.
        assert attempt(USERS["viewer"], PASSWORD) == 303


def test_the_throttle_window_slides() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_account=2, per_address=3, window=60, clock=lambda: now[0])
    throttle.failed("ann", "10.0.0.1")
    throttle.failed("ann", "10.0.0.1")
    assert throttle.wait("ann", "10.0.0.1") == 60
    assert throttle.wait("bob", "10.0.0.1") == 0  # address: 2 of 3
    throttle.failed("bob", "10.0.0.1")
    assert throttle.wait("cy", "10.0.0.1") == 60  # the address is spent
    now[0] = 61
    assert throttle.wait("ann", "10.0.0.1") == 0
    throttle.failed("ann", "10.0.0.2")
    throttle.succeeded("ann")
    assert throttle.wait("ann", "10.0.0.3") == 0


def test_users_remove_disable_and_enable_on_the_cli(home: Path) -> None:
    from dissensus.cli.serve import users_app

    cli = typer.Typer()
    cli.add_typer(users_app, name="users")
    runner = CliRunner()
    added = runner.invoke(
        cli, ["users", "add", "bob", "--password-stdin"], input="long enough pass\n"
    )
    assert added.exit_code == 0, added.output
    assert "Disabled user bob" in runner.invoke(cli, ["users", "disable", "bob"]).output
    assert runner.invoke(cli, ["users", "list"]).output.split() == ["bob", "viewer", "disabled"]
    assert "Enabled user bob" in runner.invoke(cli, ["users", "enable", "bob"]).output
    assert "Removed user bob" in runner.invoke(cli, ["users", "remove", "bob"]).output
    missing = runner.invoke(cli, ["users", "remove", "bob"])
    assert missing.exit_code != 0 and "no user 'bob'" in missing.output
