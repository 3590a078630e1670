"""``dissensus kb`` governance commands: review, promote, diff, rollback, export, import."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from dissensus.cli import app
from dissensus.domain import CategoryPath
from dissensus.knowledge import Governance, KnowledgeBase
from dissensus.storage import Database

STAGING = "deployment_mode: learn-then-deploy\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    monkeypatch.delenv("DISSENSUS_ACTOR", raising=False)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("COLUMNS", "200")
    return path


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(STAGING, encoding="utf-8")
    return config


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def ok(*args: str, input: str | None = None) -> str:
    result = invoke(*args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def kb(home: Path) -> KnowledgeBase:
    return KnowledgeBase(Database.open(home=home))


def propose(home: Path, text: str = "Brand is the first word.") -> str:
    base = kb(home)
    node = base.ensure_path(CategoryPath.parse("Home > Knives"), actor="mm")
    return base.add(node_key=node, text=text, actor="mm", status="proposed").id


def test_kb_help_lists_the_governance_commands(home: Path) -> None:
    out = ok("kb", "--help")
    for command in (
        "approve", "reject", "deprecate", "reactivate", "edit", "add", "pending", "promote",
        "diff", "rollback", "export", "import",
    ):  # fmt: skip
        assert f"│ {command} " in out, command


def test_approve_then_promote_in_learn_then_deploy(home: Path, staging: Path) -> None:
    learning_id = propose(home)
    other = propose(home, "Another rule.")
    out = ok("kb", "approve", learning_id, "--config", str(staging), "-r", "checked")
    assert out == f"{learning_id} v1 [proposed, approved] /home/knives: Brand is the first word.\n"
    assert ok("kb", "pending", "-c", str(staging)).splitlines() == [
        "awaiting review (1):",
        f"  {other} v1 [proposed] /home/knives: Another rule.",
        "approved, published by `dissensus kb promote` (1):",
        f"  {learning_id} v1 [proposed, approved] /home/knives: Brand is the first word.",
    ]
    dry = ok("kb", "promote", "--dry-run", "-c", str(staging))
    assert dry.startswith("would promote 1 learning(s)")
    assert kb(home).get(learning_id).status == "proposed"

    out = ok("kb", "promote", "--actor", "root", "-c", str(staging))
    assert out.splitlines()[1] == f"  {learning_id} /home/knives: Brand is the first word."
    learning = kb(home).get(learning_id)
    assert (learning.status, learning.approved) == ("active", True)
    events = kb(home).history()
    assert [(e.op, e.actor, e.reason) for e in events[-2:]] == [
        ("approve", "tester", "checked"),  # $USER is the default actor
        ("promote", "root", "promoted to production"),
    ]
    assert ok("kb", "promote", "-c", str(staging)).startswith("Nothing to promote")


def test_reject_deprecate_reactivate_and_refused_transitions(home: Path) -> None:
    learning_id = propose(home)
    assert "[rejected]" in ok("kb", "reject", learning_id, "-r", "vague")
    assert "[proposed]" in ok("kb", "reactivate", learning_id)
    assert "[active]" in ok("kb", "approve", learning_id)  # deploy-and-learn: live at once
    assert "[deprecated]" in ok("kb", "deprecate", learning_id)

    refused = invoke("kb", "reject", learning_id)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"error: learning '{learning_id}' is deprecated; it cannot become rejected "
        "(from deprecated it can become: active)"
    )


def test_edit_and_add_write_attributed_versions(home: Path, staging: Path) -> None:
    learning_id = propose(home)
    out = ok("kb", "edit", learning_id, "--text", "Brand: first word.", "-a", "Brand")
    assert out == f"{learning_id} v2 [proposed] /home/knives: Brand: first word.\n"
    assert kb(home).get(learning_id).attributes == ["Brand"]
    assert invoke("kb", "edit", learning_id).exit_code == 2  # nothing to change: usage

    added = ok("kb", "add", "Home > Pans", "Sizes are diameters.", "-a", "Size", "-c", str(staging))
    new_id = added.split()[0]
    learning = kb(home).get(new_id)
    assert (learning.node, learning.status, learning.approved) == ("/home/pans", "proposed", True)
    assert kb(home).history()[-1].actor == "tester"


def test_an_empty_actor_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    learning_id = propose(home)
    result = invoke("kb", "approve", learning_id, "--actor", " ")
    assert result.exit_code == 1
    assert "every change needs an actor; pass --actor NAME or set $USER" in result.stderr


def test_diff_and_rollback(home: Path) -> None:
    learning_id = propose(home)
    v1 = kb(home).version()
    ok("kb", "edit", learning_id, "--text", "Edited.")
    ok("kb", "add", "Garden", "Garden rule.")
    v2 = kb(home).version()

    out = ok("kb", "diff", str(v1), str(v2), "--events")
    lines = out.splitlines()
    assert lines[0] == f"knowledge base version {v1} -> {v2}"
    assert "+ node /garden (Garden)" in lines
    assert f"~ {learning_id} /home/knives: text, version" in lines
    assert "    text: 'Brand is the first word.' -> 'Edited.'" in lines
    assert any(line.startswith("+ L-") and "Garden rule." in line for line in lines)
    assert any(f"#{v2} " in line and " tester add " in line for line in lines)

    aborted = invoke("kb", "rollback", str(v1), input="n\n")
    assert aborted.exit_code == 1 and kb(home).version() == v2
    out = ok("kb", "rollback", str(v1), input="y\n")
    assert out.splitlines()[-1].startswith(f"restored version {v1}: 2 learning(s) and 1 node(s)")
    assert kb(home).get(learning_id).text == "Brand is the first word."
    assert ok("kb", "rollback", str(v1), "--yes").startswith("The knowledge base already holds")
    assert ok("kb", "diff", str(v2)).splitlines()[0].endswith(f"-> {kb(home).version()}")

    missing = invoke("kb", "rollback", "999", "--yes")
    assert missing.exit_code == 1 and "version 999 does not exist" in missing.stderr


def test_export_edit_import_round_trip(home: Path, tmp_path: Path) -> None:
    learning_id = propose(home)
    file = tmp_path / "kb.yaml"
    ok("kb", "export", str(file))
    assert yaml.safe_load(file.read_text(encoding="utf-8"))["learnings"][0]["id"] == learning_id
    assert ok("kb", "export", "-") == file.read_text(encoding="utf-8")

    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["learnings"][0]["status"] = "active"
    data["learnings"].append({"node": "Home > Knives", "text": "Expert rule."})
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = ok("kb", "import", str(file), "--actor", "expert")
    assert out.splitlines()[0] == (
        "imported kb.yaml: 1 added, 1 updated, 0 unchanged, 0 node(s) created; "
        f"version {kb(home).version()}"
    )
    assert kb(home).get(learning_id).status == "active"
    assert [e.actor for e in kb(home).history()[-2:]] == ["expert", "expert"]

    state = Governance(kb(home)).state()
    again = ok("kb", "import", str(file))
    assert "0 added, 0 updated, 2 unchanged" in again
    assert Governance(kb(home)).state() == state


def test_import_errors_are_one_line(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke("kb", "import", str(missing))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot read knowledge file '{missing}'")
    bad = tmp_path / "bad.yaml"
    bad.write_text("learnings:\n- {node: /nowhere, text: Rule.}\n", encoding="utf-8")
    result = invoke("kb", "import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: cannot import 'bad.yaml': learnings[0]: node '/nowhere' does not exist; add it "
        "under 'nodes:' (nothing was imported; fix the file and import again)"
    )
