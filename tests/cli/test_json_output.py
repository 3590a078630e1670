"""``--json`` prints one object, or JSON lines for a list, on the commands that print data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.cli import app
from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.storage import Database


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[KnowledgeBase, str, str]:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    base = KnowledgeBase(Database.open(None, home=tmp_path))
    key = base.ensure_path(CategoryPath.parse("Home > Knives"))
    active = base.add(node_key=key, text="Brand is the first word.", actor="ann")
    proposed = base.add(node_key=key, text="Knife type is a noun.", actor="ann", status="proposed")
    return base, active.id, proposed.id


def lines(*argv: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, list(argv))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_listing_is_json_lines_and_every_item_one_object(
    kb: tuple[KnowledgeBase, str, str],
) -> None:
    _, active, proposed = kb
    (shown,) = lines("kb", "show", active, "--json")
    assert shown["id"] == active
    assert [e["op"] for e in shown["history"]] == ["add"]  # type: ignore[attr-defined]
    assert [x["id"] for x in lines("kb", "pending", "--json")] == [proposed]
    (diff,) = lines("kb", "diff", "0", "--json")
    assert diff["from_version"] == 0
    models = lines("models", "--json")
    assert any(m["name"] == "local:gemma3-270m" for m in models)
    assert lines("runs", "list", "--json") == []
    assert lines("users", "list", "--json") == []
    assert [e["op"] for e in lines("kb", "history", "--json")].count("add") == 2
    nodes = lines("kb", "tree", "--json", "--learnings")
    knives = next(n for n in nodes if n["name"] == "Knives")
    assert [lr["id"] for lr in knives["learnings"]] == [active]  # type: ignore[union-attr]
    (health,) = lines("report", "--json")
    assert health["points"] == []
