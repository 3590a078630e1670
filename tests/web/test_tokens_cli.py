"""``dissensus tokens add|list|revoke``: a token printed once, listed without its secret."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dissensus.cli import app as cli


def test_a_token_is_printed_once_listed_without_secret_and_revoked(home: Path) -> None:
    runner = CliRunner()
    add = ["users", "add", "ann", "--role", "reviewer", "--password-stdin"]
    assert runner.invoke(cli, add, input="long enough\n").exit_code == 0
    made = runner.invoke(cli, ["tokens", "add", "sync", "--user", "ann"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("dss_")
    listed = runner.invoke(cli, ["tokens", "list", "--json"])
    (token,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (token["label"], token["user_name"], token["role"]) == ("sync", "ann", "reviewer")
    assert secret not in listed.stdout and "hash" not in listed.stdout
    too_high = runner.invoke(cli, ["tokens", "add", "x", "--user", "ann", "--role", "admin"])
    assert too_high.exit_code == 1 and "cannot be admin" in too_high.output
    bad_role = runner.invoke(cli, ["tokens", "add", "x", "--user", "ann", "--role", "owner"])
    assert bad_role.exit_code == 2
    revoked = runner.invoke(cli, ["tokens", "revoke", token["id"]])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert runner.invoke(cli, ["tokens", "revoke", "nope"]).exit_code == 1
    text = runner.invoke(cli, ["tokens", "list"])
    assert "revoked" in text.output
