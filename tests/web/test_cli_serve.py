"""``dissensus users`` and the session secret of ``dissensus serve``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("fastapi", reason="the web app needs the 'web' extra")

from dissensus.cli.serve import SECRET_ENV, SECRET_FILE, _secret, serve, users_app
from dissensus.storage import Database
from dissensus.web import UserStore

cli = typer.Typer()
cli.command("serve")(serve)
cli.add_typer(users_app, name="users")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    return path


def test_users_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(home: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["users", "add", "bob", "--role", "reviewer", "--password-stdin"],
        input="s3cret pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "Added user bob (reviewer)." in result.output
    with Database.open(home=home) as db:
        store = UserStore(db)
        user = store.authenticate("bob", "s3cret pass")
        assert user is not None and user.role == "reviewer"
        assert store.authenticate("bob", "wrong pass") is None
        with db.read() as session:
            from dissensus.storage.tables import UserRow

            row = session.get(UserRow, "bob")
            assert row is not None and row.password_hash.startswith("$argon2id$")
    listed = CliRunner().invoke(cli, ["users", "list"])
    assert listed.output.split() == ["bob", "reviewer"]


def test_users_add_prompts_twice_without_stdin(home: Path) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "ann", "--role", "admin"], input="long enough\nlong enough\n"
    )
    assert result.exit_code == 0, result.output
    assert "Added user ann (admin)." in result.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        # A bad option value is a usage error (2); a refused password is a failure (1).
        (["--role", "owner"], "long enough", "unknown role 'owner'"),
        (["--role", "viewer"], "short", "too short"),
    ],
)
def test_users_add_refuses_bad_input(
    home: Path, args: list[str], password: str, message: str
) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "cy", *args, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == (2 if "owner" in args else 1)
    assert message in result.output


def test_an_existing_user_is_replaced_only_when_asked(home: Path) -> None:
    add = ["users", "add", "dee", "--password-stdin", "--role"]
    assert CliRunner().invoke(cli, [*add, "viewer"], input="first pass\n").exit_code == 0
    again = CliRunner().invoke(cli, [*add, "admin"], input="second pass\n")
    assert again.exit_code == 1 and "already exists" in again.output
    replaced = CliRunner().invoke(cli, [*add, "admin", "--replace"], input="second pass\n")
    assert replaced.exit_code == 0 and "Updated user dee (admin)." in replaced.output
    with Database.open(home=home) as db:
        user = UserStore(db).authenticate("dee", "second pass")
    assert user is not None and user.role == "admin"


def test_the_session_secret_is_kept_private_and_stable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(parents=True)
    first = _secret(home)
    assert len(first) >= 32 and _secret(home) == first
    assert stat.S_IMODE((home / SECRET_FILE).stat().st_mode) == 0o600
    monkeypatch.setenv(SECRET_ENV, "from-the-environment-" + "y" * 20)
    assert _secret(home).startswith("from-the-environment-")
