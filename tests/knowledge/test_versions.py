"""KB versions: replayed states, diffs, and rollback restoring exactly (property-based)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissensus.errors import KnowledgeError
from dissensus.knowledge import DeploymentPolicy, Governance, KbState, KnowledgeBase
from dissensus.storage.testing import scratch_database

from .conftest import path

STAGED = DeploymentPolicy(mode="learn-then-deploy")


def test_the_replayed_head_state_equals_the_tables(kb: KnowledgeBase) -> None:
    gov = Governance(kb, STAGED)
    kb.ensure_path(path("Home > Knives"))
    a = kb.add(node_key="/home/knives", text="A.", actor="mm", status="proposed")
    b = kb.add(node_key="/home", text="B.", actor="mm")
    kb.merge(b.id, text="B merged.", sources=["c9"], actor="mm")
    kb.replace(b.id, text="B replaced.", actor="mm")
    gov.approve(a.id, actor="ann")
    gov.promote(actor="root")
    kb.record_uses([a.id])  # usage is not versioned
    assert gov.state(kb.version()) == gov.state()


def test_diff_lists_added_changed_and_removed_learnings_and_nodes(kb: KnowledgeBase) -> None:
    gov = Governance(kb, STAGED)
    kb.ensure_path(path("Home"))
    keep = kb.add(node_key="/home", text="Keep.", actor="mm", status="proposed")
    v1 = kb.version()
    kb.ensure_path(path("Home > Pans"))
    new = kb.add(node_key="/home/pans", text="New.", actor="mm")
    gov.edit(keep.id, text="Kept, edited.", actor="ann")
    v2 = kb.version()

    d = gov.diff(v1, v2)
    assert (d.from_version, d.to_version) == (v1, v2)
    assert [n.key for n in d.nodes_added] == ["/home/pans"] and d.nodes_removed == []
    assert [(c.id, c.kind, c.fields) for c in d.learnings] == [
        (keep.id, "changed", ["text", "version"]),
        (new.id, "added", []),
    ]
    assert [e.op for e in d.events] == ["create_node", "add", "edit"]

    back = gov.diff(v2, v1)  # the other way round
    assert [n.key for n in back.nodes_removed] == ["/home/pans"]
    assert [(c.id, c.kind) for c in back.learnings] == [(keep.id, "changed"), (new.id, "removed")]
    assert back.events == []
    assert gov.diff(v2).empty and gov.diff(v2, v2).empty


def test_diff_and_rollback_refuse_versions_that_do_not_exist(kb: KnowledgeBase) -> None:
    gov = Governance(kb)
    kb.ensure_path(path("Home"))
    message = r"knowledge-base version 9 does not exist; versions run from 0 to 2"
    with pytest.raises(KnowledgeError, match=message):
        gov.diff(9)
    with pytest.raises(KnowledgeError, match=message):
        gov.rollback(9, actor="root")


def test_rollback_restores_an_old_state_as_new_events(kb: KnowledgeBase) -> None:
    gov = Governance(kb, STAGED)
    kb.ensure_path(path("Home"))
    rule = kb.add(node_key="/home", text="Rule.", actor="mm", status="proposed")
    v = kb.version()
    before = gov.state()
    gov.approve(rule.id, actor="ann")
    gov.promote(actor="root")
    gov.edit(rule.id, text="Rule, edited.", actor="ann")
    kb.ensure_path(path("Home > Pans"))
    extra = kb.add(node_key="/home/pans", text="Extra.", actor="mm")
    kb.record_uses([rule.id])
    head = kb.version()

    done = gov.rollback(v, actor="root", reason="bad release")
    assert gov.state().same_content(before)
    assert kb.get(rule.id).uses == 1  # usage counters survive
    assert done.from_version == head and done.to_version == kb.version()
    assert [(c.id, c.kind) for c in done.learnings] == [(rule.id, "changed"), (extra.id, "removed")]
    assert [(e.op, e.actor, e.reason) for e in done.events] == [
        ("rollback", "root", "bad release"),
        ("rollback", "root", "bad release"),
        ("delete_node", "root", "bad release"),
    ]
    # Append-only: the undone versions are still there, and can be restored in turn.
    gov.rollback(head, actor="root")
    assert gov.state().same_content(gov.state(head))
    assert gov.rollback(kb.version(), actor="root").empty


# --- property: random operations, rollback to a random version -------------------------------

Op = tuple[str, int, int]
OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "add",
                "add_proposed",
                "merge",
                "replace",
                "edit",
                "approve",
                "reject",
                "deprecate",
                "reactivate",
                "promote",
                "confirm",
                "rollback",
            ]
        ),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=14,
)
NODES = ["Home", "Home > Knives", "Home > Pans", "Garden"]


def _apply(gov: Governance, op: str, a: int, b: int, states: dict[int, KbState]) -> None:
    kb = gov.kb
    learnings = kb.list()
    pick = learnings[a % len(learnings)].id if learnings else None
    try:
        if op in ("add", "add_proposed"):
            key = kb.ensure_path(path(NODES[a % len(NODES)]), actor="p")
            status = "proposed" if op == "add_proposed" else "active"
            kb.add(node_key=key, text=f"Rule {a}-{b}.", actor="p", status=status, sources=[f"c{b}"])
        elif pick is None:
            return
        elif op == "merge":
            kb.merge(pick, text=f"Merged {b}.", sources=[f"c{b}"], actor="p")
        elif op == "replace":
            kb.replace(pick, text=f"Replaced {b}.", actor="p", status="proposed")
        elif op == "edit":
            gov.edit(pick, text=f"Edited {b}.", actor="p")
        elif op == "confirm":
            kb.confirm(pick, f"c{b}", actor="p", activate_after=1)
        elif op == "promote":
            gov.promote(actor="p")
        elif op == "rollback":
            gov.rollback(sorted(states)[b % len(states)], actor="p")
        else:
            getattr(gov, op)(pick, actor="p")
    except KnowledgeError:
        pass  # a refused transition changes nothing


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, target=st.integers(0, 1000))
def test_rollback_to_any_version_restores_that_state_exactly(ops: list[Op], target: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(Path(tmp)) as db,
    ):
        gov = Governance(KnowledgeBase(db), STAGED)
        states = {0: gov.state()}
        for op, a, b in ops:
            _apply(gov, op, a, b, states)
            states[gov.version()] = gov.state()
        # The replay of the history agrees with the tables at every version.
        for version, state in states.items():
            assert gov.state(version) == state
        version = sorted(states)[target % len(states)]
        gov.rollback(version, actor="auditor")
        assert gov.state().same_content(states[version])
        assert gov.state(gov.version()) == gov.state()
