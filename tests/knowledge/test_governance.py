"""Governance: state transitions, approval and promotion per mode, versions, confirmations."""

from __future__ import annotations

import pytest

from dissensus.domain import LearningDraft
from dissensus.errors import KnowledgeError
from dissensus.knowledge import DeploymentPolicy, Governance, KnowledgeBase, MemoryManager
from dissensus.knowledge.knowledge_base import confirming_product
from dissensus.llm.testing import QueuedLLM

from .conftest import path

STAGED = DeploymentPolicy(mode="learn-then-deploy")
LIVE = DeploymentPolicy(mode="deploy-and-learn")


def proposed(kb: KnowledgeBase, text: str = "Brand is the first word.") -> str:
    kb.ensure_path(path("Home > Knives"))
    return kb.add(node_key="/home/knives", text=text, actor="mm", status="proposed").id


def active_ids(kb: KnowledgeBase) -> list[str]:
    return [lr.id for lr in kb.retrieve(path("Home > Knives"), None)]


# --- policy ---------------------------------------------------------------------------------


def test_the_policy_maps_modes_to_placement_status_and_activation() -> None:
    assert (LIVE.placement_status, LIVE.activate_after, LIVE.authored_status) == (
        "active",
        0,
        "active",
    )
    three = DeploymentPolicy(confirmations=3)
    assert (three.placement_status, three.activate_after) == ("proposed", 3)
    assert (STAGED.placement_status, STAGED.activate_after, STAGED.authored_status) == (
        "proposed",
        None,
        "proposed",
    )


# --- transitions ----------------------------------------------------------------------------


def test_reject_deprecate_and_reactivate_follow_the_transitions(kb: KnowledgeBase) -> None:
    gov = Governance(kb, STAGED)
    first, second = proposed(kb), proposed(kb, "Second rule.")
    rejected = gov.reject(first, actor="ann", reason="too vague")
    assert (rejected.status, rejected.approved) == ("rejected", False)
    assert gov.reactivate(first, actor="ann").status == "proposed"

    gov.approve(second, actor="ann")
    gov.promote(actor="root")
    assert gov.deprecate(second, actor="ann").status == "deprecated"
    assert gov.reactivate(second, actor="ann").status == "active"

    last = kb.history()[-1]
    assert (last.op, last.actor, last.learning_id) == ("status", "ann", second)
    assert last.before is not None and last.after is not None
    assert (last.before["status"], last.after["status"]) == ("deprecated", "active")
    assert [e.op for e in kb.history(learning_id=first)] == ["add", "status", "status"]


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        (
            "proposed",
            "deprecate",
            "learning '{id}' is proposed; it cannot become deprecated "
            "(from proposed it can become: active, rejected)",
        ),
        (
            "active",
            "reject",
            "learning '{id}' is active; it cannot become rejected "
            "(from active it can become: deprecated)",
        ),
        (
            "active",
            "approve",
            "learning '{id}' is active; only proposed learnings can be approved "
            "(it is already published)",
        ),
        (
            "rejected",
            "approve",
            "learning '{id}' is rejected; only proposed learnings can be approved "
            "(reopen it first with `dissensus kb reactivate {id}`)",
        ),
        (
            "proposed",
            "reactivate",
            "learning '{id}' is proposed; only deprecated or rejected learnings can be reactivated",
        ),
    ],
)
def test_refused_transitions_say_what_the_learning_is_and_what_it_can_become(
    kb: KnowledgeBase, setup: str, action: str, message: str
) -> None:
    gov = Governance(kb, STAGED)
    learning_id = proposed(kb)
    if setup == "active":
        gov.approve(learning_id, actor="a")
        gov.promote(actor="a")
    elif setup == "rejected":
        gov.reject(learning_id, actor="a")
    version = kb.version()
    with pytest.raises(KnowledgeError) as caught:
        getattr(gov, action)(learning_id, actor="a")
    assert str(caught.value) == message.format(id=learning_id)
    assert kb.version() == version  # nothing recorded


def test_unknown_ids_are_a_knowledge_error(kb: KnowledgeBase) -> None:
    gov = Governance(kb)
    with pytest.raises(KnowledgeError, match=r"learning 'L-000000' does not exist"):
        gov.approve("L-000000", actor="a")
    with pytest.raises(KnowledgeError, match=r"learning 'L-000000' has no history"):
        gov.versions("L-000000")


# --- approval and promotion -----------------------------------------------------------------


def test_learn_then_deploy_stages_approvals_until_promote_publishes_them(
    kb: KnowledgeBase,
) -> None:
    gov = Governance(kb, STAGED)
    one, two, three = proposed(kb, "One."), proposed(kb, "Two."), proposed(kb, "Three.")
    staged = gov.approve(one, actor="ann", reason="checked on 20 products")
    gov.approve(two, actor="ann")
    assert (staged.status, staged.approved) == ("proposed", True)
    assert gov.approve(one, actor="ann") == staged  # approving again changes nothing
    assert [lr.id for lr in gov.staged()] == sorted([one, two], key=lambda i: kb.get(i).created_at)
    assert [lr.id for lr in gov.pending()] == [three]
    assert active_ids(kb) == []  # runs see nothing yet

    version = kb.version()
    promoted = gov.promote(actor="root", reason="release 7")
    assert sorted(lr.id for lr in promoted) == sorted([one, two])
    assert all(lr.status == "active" and lr.approved for lr in promoted)
    assert sorted(active_ids(kb)) == sorted([one, two])
    events = kb.history()[-2:]
    assert [(e.op, e.actor, e.reason) for e in events] == [("promote", "root", "release 7")] * 2
    assert events[0].seq == version + 1
    assert gov.promote(actor="root") == []  # nothing staged any more


def test_deploy_and_learn_approval_publishes_at_once(kb: KnowledgeBase) -> None:
    gov = Governance(kb, LIVE)
    learning_id = proposed(kb)
    approved = gov.approve(learning_id, actor="ann")
    assert (approved.status, approved.approved) == ("active", True)
    assert active_ids(kb) == [learning_id]
    event = kb.history()[-1]
    assert (event.op, event.actor) == ("approve", "ann")
    assert event.before is not None and event.after is not None
    assert (event.before["status"], event.after["status"]) == ("proposed", "active")


def test_hand_written_learnings_are_approved_and_staged_or_live_by_mode(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Home"))
    live = Governance(kb, LIVE).add(node_key="/home", text="Live rule.", actor="ann")
    staged = Governance(kb, STAGED).add(node_key="/home", text="Staged rule.", actor="bob")
    assert (live.status, live.approved) == ("active", True)
    assert (staged.status, staged.approved) == ("proposed", True)
    assert [(e.op, e.actor) for e in kb.history()[-2:]] == [("add", "ann"), ("add", "bob")]


# --- edits and versions ---------------------------------------------------------------------


def test_an_edit_is_a_new_version_and_every_version_stays_retrievable(kb: KnowledgeBase) -> None:
    gov = Governance(kb, STAGED)
    learning_id = proposed(kb, "First text.")
    gov.approve(learning_id, actor="ann")
    edited = gov.edit(learning_id, text="Second text.", actor="bob", reason="typo")
    # Nobody approved the new text yet.
    assert (edited.version, edited.text, edited.approved) == (2, "Second text.", False)
    versions = gov.versions(learning_id)
    assert [(v.op, v.actor, v.learning.version, v.learning.text) for v in versions] == [
        ("add", "mm", 1, "First text."),
        ("approve", "ann", 1, "First text."),
        ("edit", "bob", 2, "Second text."),
    ]
    event = kb.history()[-1]
    assert event.before is not None and event.before["text"] == "First text."
    assert event.reason == "typo"


def test_versions_include_the_deprecation_by_a_replace(kb: KnowledgeBase) -> None:
    gov = Governance(kb)
    kb.ensure_path(path("Home"))
    old = kb.add(node_key="/home", text="Old.", actor="mm")
    new = kb.replace(old.id, text="New.", actor="mm")
    (added, replaced) = gov.versions(old.id)
    assert (added.learning.status, replaced.learning.status, replaced.op) == (
        "active",
        "deprecated",
        "replace",
    )
    assert replaced.learning == kb.get(old.id).model_copy(update={"uses": 0})
    assert [v.op for v in gov.versions(new.id)] == ["replace"]


# --- confirmations (deploy-and-learn with N) ------------------------------------------------


def test_confirm_counts_distinct_later_cases_and_activates_at_the_threshold(
    kb: KnowledgeBase,
) -> None:
    kb.ensure_path(path("Home"))
    learning = kb.add(node_key="/home", text="Rule.", actor="mm", status="proposed", sources=["c1"])
    assert kb.confirm(learning.id, "c1", actor="mm", activate_after=2).status == "proposed"
    assert kb.confirm(learning.id, "c2", actor="mm", activate_after=2).status == "proposed"
    confirmed = kb.confirm(learning.id, "c3", actor="mm", activate_after=2)
    assert (confirmed.status, confirmed.sources) == ("active", ["c1", "c2", "c3"])
    assert [e.op for e in kb.history(learning_id=learning.id)] == [
        "add",
        "confirm",
        "confirm",
        "status",
    ]
    assert kb.history()[-1].reason == "confirmed by 2 later case(s) (needs 2)"


def test_the_same_product_in_a_later_run_is_no_confirmation(kb: KnowledgeBase) -> None:
    # Running a catalog again drafts its mistakes again: "Brand: 'Nylon'" from run 2 of the
    # same backpack once counted as a second case.
    kb.ensure_path(path("Bags"))
    learning = kb.add(
        node_key="/bags", text="Brand: 'Nylon'", actor="mm", status="proposed", sources=["r1:b1"]
    )
    again = kb.confirm(learning.id, "r2:b1", actor="mm", activate_after=1)
    assert (again.status, again.sources) == ("proposed", ["r1:b1", "r2:b1"])
    assert kb.history()[-1].reason == (
        "drafted again by r2:b1, about a product already among its sources: no new confirmation"
    )
    other = kb.confirm(learning.id, "r2:b7", actor="mm", activate_after=1)
    assert other.status == "active"
    assert [confirming_product(s) for s in ("r1:b:1", "review:4:r1:b1", "review:4", "ana")] == [
        "b:1",
        "b1",
        "review:4",
        "ana",
    ]


def test_without_a_threshold_confirmations_only_add_provenance(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Home"))
    learning = kb.add(node_key="/home", text="Rule.", actor="mm", status="proposed", sources=["c1"])
    for case in ("c2", "c3", "c4"):
        kb.confirm(learning.id, case, actor="mm", activate_after=None)
    assert kb.get(learning.id).status == "proposed"
    assert kb.get(learning.id).sources == ["c1", "c2", "c3", "c4"]


@pytest.mark.anyio
async def test_the_memory_manager_confirms_a_proposed_learning_drafted_again(
    kb: KnowledgeBase,
) -> None:
    draft = LearningDraft(category="Home > Knives", attributes=["Brand"], text="Brand first.")
    manager = MemoryManager(kb, QueuedLLM("scripted:mm", []), status="proposed", activate_after=1)
    first = await manager.place(draft, source="r1:p1")
    assert kb.get(first.learning_id or "").status == "proposed"
    again = await manager.place(draft, source="r1:p1")  # the same case, e.g. a resumed run
    assert again.op == "discard" and kb.get(first.learning_id or "").status == "proposed"
    third = await manager.place(draft, source="r1:p2")
    assert (third.op, third.duplicate_of) == ("discard", first.learning_id)
    learning = kb.get(first.learning_id or "")
    assert (learning.status, learning.sources, learning.approved) == (
        "active",
        ["r1:p1", "r1:p2"],
        False,
    )
