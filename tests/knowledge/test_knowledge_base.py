"""The knowledge base: nodes, every kind of change, its history event, and its errors.

Every test runs on each store: SQLite, PostgreSQL and DynamoDB (``any_kb``)."""

from __future__ import annotations

from typing import Any

import pytest

from dissensus.domain import LearningDraft
from dissensus.errors import KnowledgeError
from dissensus.knowledge import KnowledgeBase

from .conftest import path


@pytest.fixture
def kb(any_kb: Any) -> KnowledgeBase:
    return any_kb  # type: ignore[no-any-return]


def test_ensure_path_creates_missing_nodes_root_down_with_one_event_each(
    kb: KnowledgeBase,
) -> None:
    assert kb.ensure_path(path("Shoes > Sneakers"), actor="alice") == "/shoes/sneakers"
    events = kb.history()
    assert [(e.op, e.node_key, e.actor) for e in events] == [
        ("create_node", "/", "alice"),
        ("create_node", "/shoes", "alice"),
        ("create_node", "/shoes/sneakers", "alice"),
    ]
    assert events[2].before is None
    assert events[2].after == {"key": "/shoes/sneakers", "name": "Sneakers", "parent_key": "/shoes"}
    # Idempotent: existing nodes (even spelled differently) create nothing.
    assert kb.ensure_path(path("shoes > SNEAKERS")) == "/shoes/sneakers"
    assert kb.version() == 3


def test_tree_lists_nodes_in_path_order_with_depth_parent_and_counts(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.ensure_path(path("Shoes-Care"))
    kb.add(node_key="/shoes", text="Rule one.", actor="t")
    second = kb.add(node_key="/shoes", text="Rule two.", actor="t")
    kb.set_status(second.id, "deprecated", "t")
    tree = kb.tree()
    assert [(n.key, n.name, n.depth, n.parent) for n in tree] == [
        ("/", "All categories", 0, None),
        ("/shoes", "Shoes", 1, "/"),
        ("/shoes/sneakers", "Sneakers", 2, "/shoes"),
        ("/shoes-care", "Shoes-Care", 1, "/"),
    ]
    assert tree[1].counts == {"active": 1, "deprecated": 1}
    assert tree[1].parent_key == "/"
    assert kb.node("/shoes/sneakers").counts == {}
    assert [c.key for c in kb.children("/shoes")] == ["/shoes/sneakers"]


def test_ensure_child_creates_a_branch_under_an_existing_node(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    assert kb.ensure_child("/shoes", "Running Shoes", actor="mm") == "/shoes/running-shoes"
    assert kb.node("/shoes/running-shoes").name == "Running Shoes"
    with pytest.raises(KnowledgeError, match=r"node '/boots' does not exist; create it"):
        kb.ensure_child("/boots", "Chelsea", actor="mm")


def test_add_writes_the_learning_and_an_add_event(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    learning = kb.add(
        node_key="/shoes",
        text="  Read 'US 9' as size 9 US.  ",
        example="'Mens US 9 runner' -> size=9",
        attributes=["size", "size"],
        sources=["r1:p1", "r1:p1"],
        actor="supervisor",
        reason="case r1:p1",
    )
    assert learning.id.startswith("L-") and len(learning.id) == 8
    assert (learning.node, learning.text, learning.status, learning.version) == (
        "/shoes",
        "Read 'US 9' as size 9 US.",
        "active",
        1,
    )
    assert (learning.attributes, learning.sources) == (["size"], ["r1:p1"])
    assert kb.get(learning.id) == learning
    event = kb.history()[-1]
    assert (event.op, event.actor, event.learning_id, event.node_key, event.reason) == (
        "add",
        "supervisor",
        learning.id,
        "/shoes",
        "case r1:p1",
    )
    assert event.before is None
    assert event.after == learning.model_dump(mode="json")
    assert kb.version() == event.seq


def test_merge_makes_a_new_version_uniting_sources(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    old = kb.add(node_key="/shoes", text="Old rule.", attributes=["size"], sources=["a"], actor="t")
    merged = kb.merge(
        old.id,
        text="Merged rule.",
        example="ex",
        attributes=["size", "width"],
        sources=["b", "a"],
        actor="memory-manager",
        reason="same lesson",
    )
    assert (merged.id, merged.version, merged.text, merged.example) == (
        old.id,
        2,
        "Merged rule.",
        "ex",
    )
    assert (merged.sources, merged.attributes) == (["a", "b"], ["size", "width"])
    event = kb.history()[-1]
    assert (event.op, event.learning_id, event.reason) == ("merge", old.id, "same lesson")
    assert event.before == old.model_dump(mode="json")
    assert event.after == merged.model_dump(mode="json")
    # attributes=None keeps them
    assert kb.merge(old.id, text="Again.", actor="t").attributes == ["size", "width"]


def test_replace_deprecates_the_old_learning_and_links_both_in_one_event(
    kb: KnowledgeBase,
) -> None:
    kb.ensure_path(path("Shoes"))
    old = kb.add(node_key="/shoes", text="Wrong rule.", attributes=["size"], actor="t")
    new = kb.replace(old.id, text="Right rule.", sources=["c"], actor="bob", reason="outdated")
    assert kb.get(old.id).status == "deprecated"
    assert (new.status, new.node, new.attributes, new.sources) == (
        "active",
        "/shoes",
        ["size"],
        ["c"],
    )
    event = kb.history()[-1]
    assert (event.op, event.learning_id, event.actor) == ("replace", new.id, "bob")
    assert event.before == old.model_dump(mode="json")
    assert event.after == new.model_dump(mode="json")
    assert [e.op for e in kb.history(learning_id=old.id)] == ["add", "replace"]
    assert [e.op for e in kb.history(learning_id=new.id)] == ["replace"]


def test_discard_records_an_event_and_changes_nothing_else(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    kept = kb.add(node_key="/shoes", text="Rule.", actor="t")
    draft = LearningDraft(category="Shoes", text="rule", attributes=["size"])
    event = kb.discard(
        "duplicate", draft, "memory-manager", node_key="/shoes", duplicate_of=kept.id
    )
    assert (event.op, event.learning_id, event.node_key, event.reason) == (
        "discard",
        kept.id,
        "/shoes",
        "duplicate",
    )
    assert event.before is None
    assert event.after == draft.model_dump(mode="json")
    assert kb.get(kept.id) == kept
    assert kb.list() == [kept]


def test_set_status_follows_the_transitions_and_records_before_after(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    proposed = kb.add(node_key="/shoes", text="Rule.", actor="t", status="proposed")
    active = kb.set_status(proposed.id, "active", "reviewer", "looks right")
    assert active.status == "active"
    event = kb.history()[-1]
    assert (event.op, event.reason, event.before["status"], event.after["status"]) == (  # type: ignore[index]
        "status",
        "looks right",
        "proposed",
        "active",
    )
    assert kb.set_status(proposed.id, "deprecated", "t").status == "deprecated"
    assert kb.set_status(proposed.id, "active", "t").status == "active"


def test_bad_transition_names_the_id_and_the_allowed_statuses(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    learning = kb.add(node_key="/shoes", text="Rule.", actor="t")
    with pytest.raises(
        KnowledgeError,
        match=rf"learning '{learning.id}' is active; it cannot become rejected "
        r"\(from active it can become: deprecated\)",
    ):
        kb.set_status(learning.id, "rejected", "t")


def test_edit_changes_text_keeps_sources_and_bumps_version(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    learning = kb.add(node_key="/shoes", text="Rule.", sources=["a"], actor="t")
    edited = kb.edit(learning.id, example="New example.", actor="alice", reason="typo")
    assert (edited.text, edited.example, edited.version, edited.sources) == (
        "Rule.",
        "New example.",
        2,
        ["a"],
    )
    assert [e.op for e in kb.history(learning_id=learning.id)] == ["add", "edit"]


def test_unknown_ids_raise_knowledge_error_naming_the_id_and_the_fix(kb: KnowledgeBase) -> None:
    fix = r"does not exist; see `dissensus kb tree` or `dissensus kb pending` for the ids"
    with pytest.raises(KnowledgeError, match=rf"learning 'L-000000' {fix}"):
        kb.get("L-000000")
    for change in (
        lambda: kb.merge("L-000000", text="x", actor="t"),
        lambda: kb.replace("L-000000", text="x", actor="t"),
        lambda: kb.set_status("L-000000", "active", "t"),
        lambda: kb.edit("L-000000", text="x", actor="t"),
    ):
        with pytest.raises(KnowledgeError, match=fix):
            change()
    with pytest.raises(KnowledgeError, match=r"node '/nowhere' does not exist; create it first"):
        kb.add(node_key="/nowhere", text="x", actor="t")
    assert kb.version() == 0  # nothing was half-written


def test_changing_a_deprecated_learning_says_to_reactivate_it(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    learning = kb.add(node_key="/shoes", text="Rule.", actor="t")
    kb.set_status(learning.id, "deprecated", "t")
    with pytest.raises(
        KnowledgeError,
        match=rf"cannot merge into learning '{learning.id}': it is deprecated; reactivate it "
        rf"first with set_status\('{learning.id}', 'active', ...\)",
    ):
        kb.merge(learning.id, text="x", actor="t")


def test_text_limits_are_enforced_with_the_limit_in_the_message(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    with pytest.raises(KnowledgeError, match="learning text is empty"):
        kb.add(node_key="/shoes", text="   ", actor="t")
    with pytest.raises(KnowledgeError, match="401 characters; shorten it to at most 400"):
        kb.add(node_key="/shoes", text="x" * 401, actor="t")
    with pytest.raises(KnowledgeError, match="example has 301 characters"):
        kb.add(node_key="/shoes", text="x", example="y" * 301, actor="t")


def test_list_filters_by_node_and_status(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    a = kb.add(node_key="/shoes", text="A.", actor="t")
    b = kb.add(node_key="/shoes/sneakers", text="B.", actor="t", status="proposed")
    assert {x.id for x in kb.list()} == {a.id, b.id}
    assert kb.list(node_key="/shoes") == [a]
    assert kb.list(status="proposed") == [b]
    assert kb.list(node_key="/shoes", status="proposed") == []


def test_history_limit_keeps_the_newest_events_in_order(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("A > B > C"))
    assert [e.node_key for e in kb.history(limit=2)] == ["/a/b", "/a/b/c"]
    assert [e.seq for e in kb.history()] == [1, 2, 3, 4]
    assert kb.version() == 4
