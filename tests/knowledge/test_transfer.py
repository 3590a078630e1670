"""YAML export and import: stable output, exact round trip, hand-written entries, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dissensus.errors import KnowledgeError
from dissensus.knowledge import DeploymentPolicy, Governance, KnowledgeBase
from dissensus.storage.testing import scratch_database

from .conftest import path

STAGED = DeploymentPolicy(mode="learn-then-deploy")


def populate(kb: KnowledgeBase) -> Governance:
    gov = Governance(kb, STAGED)
    kb.ensure_path(path("Home > Knives"))
    kb.ensure_path(path("Garden"))
    one = kb.add(
        node_key="/home/knives",
        text="Brand is the first word: 'Acme Chef Knife' -> Acme.",
        example="Acme Chef Knife 8in -> Brand: Acme",
        attributes=["Brand"],
        sources=["r1:k1"],
        actor="mm",
        status="proposed",
    )
    two = kb.add(node_key="/garden", text="Ünïcode — kept as written.", actor="mm")
    gov.approve(one.id, actor="ann")
    gov.promote(actor="root")
    gov.edit(one.id, text="Brand is the first word of the title.", actor="ann")
    kb.replace(two.id, text="Replaced rule.", actor="mm")
    kb.record_uses([one.id])
    return gov


def test_export_is_stable_and_ordered_by_node_then_id(kb: KnowledgeBase) -> None:
    gov = populate(kb)
    text = gov.export_yaml()
    assert text == gov.export_yaml()
    assert text.startswith("# dissensus knowledge base.")
    data = yaml.safe_load(text)
    assert data["format"] == "dissensus-kb/1" and data["version"] == kb.version()
    assert [n["key"] for n in data["nodes"]] == ["/", "/garden", "/home", "/home/knives"]
    nodes = [e["node"] for e in data["learnings"]]
    assert nodes == ["/garden", "/garden", "/home/knives"]
    assert list(data["learnings"][0]) == [
        "id", "node", "status", "approved", "version", "attributes", "text", "example",
        "sources", "created_at", "updated_at",
    ]  # fmt: skip
    assert "uses" not in text
    assert "Ünïcode — kept as written." in text  # readable, not escaped


def test_export_then_import_into_an_empty_database_gives_an_identical_state(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    gov = populate(kb)
    text = gov.export_yaml()
    with scratch_database(tmp_path / "other") as other_db:
        other = Governance(KnowledgeBase(other_db), STAGED)
        report = other.import_yaml(text, actor="ops", origin="kb.yaml")
        assert other.state().same_content(gov.state())
        assert sorted(report.added) == sorted(lr.id for lr in kb.list())
        assert report.nodes_created == ["/", "/garden", "/home", "/home/knives"]
        events = other.kb.history()
        assert {(e.op, e.actor, e.reason) for e in events if e.op == "import"} == {
            ("import", "ops", "import kb.yaml")
        }
        # And the other way: the imported knowledge exports to the same file (bar the version).
        again = other.export_yaml().replace(f"version: {other.version()}", "")
        assert again == text.replace(f"version: {gov.version()}", "")


def test_importing_an_unchanged_export_changes_nothing(kb: KnowledgeBase) -> None:
    gov = populate(kb)
    version = kb.version()
    report = gov.import_yaml(gov.export_yaml(), actor="ops")
    assert (report.added, report.updated, report.unchanged) == ([], [], 3)
    assert kb.version() == version


def test_edits_in_the_file_become_new_versions_and_hand_entries_new_learnings(
    kb: KnowledgeBase,
) -> None:
    gov = populate(kb)
    data = yaml.safe_load(gov.export_yaml())
    entry = data["learnings"][2]
    entry["text"] = "Brand: the first word, e.g. Acme."
    entry["status"] = "deprecated"
    data["learnings"].append(
        {"node": "Home > Knives > Paring", "text": "Paring knives are 3-4in.", "attributes": []}
    )
    report = gov.import_yaml(yaml.safe_dump(data), actor="expert", origin="edited.yaml")

    edited = kb.get(entry["id"])
    assert (edited.text, edited.status, edited.version) == (
        "Brand: the first word, e.g. Acme.",
        "deprecated",
        entry["version"] + 1,
    )
    assert report.updated == [entry["id"]] and report.nodes_created == ["/home/knives/paring"]
    (new_id,) = report.added
    new = kb.get(new_id)
    # Written by a person: approved, and staged in learn-then-deploy.
    assert (new.node, new.status, new.approved, new.version) == (
        "/home/knives/paring",
        "proposed",
        True,
        1,
    )
    last = kb.history()[-1]
    assert (last.op, last.actor, last.reason) == (
        "import",
        "expert",
        "import edited.yaml (written by hand)",
    )
    update = kb.history(learning_id=entry["id"])[-1]
    assert update.before is not None
    assert update.before["text"] == "Brand is the first word of the title."


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["learnings"][2].update(status="rejected"),
            "learnings[2] ({id}): is active; it cannot become rejected "
            "(from active it can become: deprecated)",
        ),
        (
            lambda d: d["learnings"][2].update(text="x" * 401),
            "learnings[2] ({id}): the learning text has 401 characters; shorten it to at most 400 "
            "(one concrete rule per learning)",
        ),
        (
            lambda d: d["learnings"][2].update(version=1, text="Stale edit."),
            "learnings[2] ({id}): edited from version 1 but the knowledge base now holds "
            "version 2; export again and redo the edit",
        ),
        (
            lambda d: d["learnings"].append({"node": "/nowhere", "text": "Rule."}),
            "learnings[3]: node '/nowhere' does not exist; add it under 'nodes:'",
        ),
        (
            lambda d: d["learnings"].append(dict(d["learnings"][2])),
            "learnings[3] ({id}): the id appears twice in the file",
        ),
    ],
)
def test_an_invalid_file_is_refused_whole_with_every_problem_named(
    kb: KnowledgeBase, edit: object, message: str
) -> None:
    gov = populate(kb)
    data = yaml.safe_load(gov.export_yaml())
    learning_id = data["learnings"][2]["id"]
    edit(data)  # type: ignore[operator]
    version = kb.version()
    with pytest.raises(KnowledgeError) as caught:
        gov.import_yaml(yaml.safe_dump(data), actor="ops", origin="bad.yaml")
    assert str(caught.value) == (
        f"cannot import 'bad.yaml': {message.format(id=learning_id)} "
        "(nothing was imported; fix the file and import again)"
    )
    assert kb.version() == version


def test_malformed_files_are_refused_with_the_reason(kb: KnowledgeBase) -> None:
    gov = Governance(kb)
    with pytest.raises(KnowledgeError, match=r"knowledge file 'f.yaml' is not valid YAML"):
        gov.import_yaml("learnings: [", actor="ops", origin="f.yaml")
    with pytest.raises(KnowledgeError, match=r"learnings.0.txt: Extra inputs are not permitted"):
        gov.import_yaml("learnings:\n- {node: /, text: a, txt: b}\n", actor="ops")
    with pytest.raises(KnowledgeError, match=r"has format 'other/2'; this dissensus reads"):
        gov.import_yaml("format: other/2\nlearnings: []\n", actor="ops")
