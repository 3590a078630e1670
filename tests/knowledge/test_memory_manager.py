"""The memory manager: every placement operation, its rule-based shortcuts and its fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from dissensus.domain import LearningDraft
from dissensus.knowledge import KnowledgeBase, MemoryManager, Placement
from dissensus.llm.testing import QueuedLLM, ScriptedLLM, ScriptedRequest, abstain_handler

from .conftest import path

pytestmark = pytest.mark.anyio

SIZE_RULE = "Read 'US 9' as size 9 in US units, never convert it to EU."


def draft(
    text: str = "Colorway names such as Triple White map to the base color white.",
    *,
    category: str = "Shoes > Sneakers",
    attributes: list[str] | None = None,
    example: str = "",
) -> LearningDraft:
    return LearningDraft(
        category=category,
        attributes=["color"] if attributes is None else attributes,
        text=text,
        example=example,
    )


def queued(*decisions: dict[str, Any] | str) -> QueuedLLM:
    """A memory-manager model answering ``decisions`` in order; asking more is a test error."""
    return QueuedLLM("scripted:memory", list(decisions))


def steps(placement: Placement) -> list[tuple[str, str, str | None, str]]:
    return [(s.node, s.op, s.target, s.by) for s in placement.steps]


async def test_empty_tree_follows_the_category_path_without_a_model_call(
    kb: KnowledgeBase,
) -> None:
    llm = queued()
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert steps(placement) == [
        ("/", "create_branch", "/shoes", "rule"),
        ("/shoes", "create_branch", "/shoes/sneakers", "rule"),
        ("/shoes/sneakers", "add", None, "rule"),
    ]
    assert (placement.op, placement.node, placement.model_calls) == ("add", "/shoes/sneakers", 0)
    learning = kb.get(placement.learning_id or "")
    assert (learning.node, learning.sources, learning.status, learning.attributes) == (
        "/shoes/sneakers",
        ["r1:p1"],
        "active",
        ["color"],
    )
    assert [e.op for e in kb.history()] == ["create_node"] * 3 + ["add"]
    assert {e.actor for e in kb.history()} == {"memory-manager"}


async def test_descends_by_rule_past_nodes_without_related_learnings(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.add(node_key="/shoes", text=SIZE_RULE, attributes=["size"], actor="t")  # unrelated
    placement = await MemoryManager(kb, queued()).place(draft(), source="r1:p1")
    assert steps(placement) == [
        ("/", "descend", "/shoes", "rule"),
        ("/shoes", "descend", "/shoes/sneakers", "rule"),
        ("/shoes/sneakers", "add", None, "rule"),
    ]


async def test_model_adds_beside_related_learnings(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    other = kb.add(
        node_key="/shoes/sneakers",
        text="Gum soles are not a color.",
        attributes=["color"],
        actor="t",
    )
    llm = queued({"op": "add", "reason": "a different rule"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert steps(placement)[-1] == ("/shoes/sneakers", "add", None, "model")
    assert (placement.op, placement.model_calls) == ("add", 1)
    assert len(kb.list(node_key="/shoes/sneakers")) == 2
    # The model saw the draft, the node, and the learning it could merge with.
    prompt = llm.requests[0].prompt
    assert "CURRENT NODE: /shoes/sneakers" in prompt
    assert other.id in prompt and "Triple White" in prompt


async def test_model_merges_into_an_existing_learning(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers",
        text="Triple White means white.",
        example="'Air Max Triple White' -> white",
        attributes=["color"],
        sources=["r0:p9"],
        actor="t",
    )
    merged_text = "Colorway names (Triple White, Core Black) map to their base color."
    llm = queued({"op": "merge", "target": old.id, "text": merged_text, "reason": "same lesson"})
    placement = await MemoryManager(kb, llm).place(
        draft(attributes=["color", "pattern"]), source="r1:p1"
    )
    assert (placement.op, placement.learning_id) == ("merge", old.id)
    merged = kb.get(old.id)
    assert (merged.text, merged.version, merged.sources) == (merged_text, 2, ["r0:p9", "r1:p1"])
    assert merged.example == "'Air Max Triple White' -> white"  # kept when the model gave none
    assert merged.attributes == ["color", "pattern"]
    event = kb.history()[-1]
    assert (event.op, event.before["text"], event.after["text"]) == (  # type: ignore[index]
        "merge",
        "Triple White means white.",
        merged_text,
    )


async def test_model_replaces_an_outdated_learning(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers",
        text="Colorways are marketing; leave color empty.",
        attributes=["color"],
        actor="t",
    )
    llm = queued({"op": "replace", "target": old.id, "reason": "the old rule loses values"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.op == "replace" and placement.learning_id not in (None, old.id)
    assert kb.get(old.id).status == "deprecated"
    new = kb.get(placement.learning_id or "")
    assert (new.text, new.status, new.sources) == (draft().text, "active", ["r1:p1"])
    assert kb.history()[-1].op == "replace"


async def test_model_discards_a_duplicate(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers",
        text="Map colorway names like Triple White to base color white.",
        attributes=["color"],
        actor="t",
    )
    llm = queued({"op": "discard", "target": old.id, "reason": "already known"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert (placement.op, placement.learning_id, placement.duplicate_of) == (
        "discard",
        None,
        old.id,
    )
    assert placement.fallback is None
    assert kb.list() == [kb.get(old.id)]
    event = kb.history()[-1]
    assert (event.op, event.learning_id, event.reason) == ("discard", old.id, "already known")
    assert event.after == draft().model_dump(mode="json")


async def test_exact_duplicate_is_discarded_without_a_model_call(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(node_key="/shoes/sneakers", text=draft().text, attributes=["color"], actor="t")
    shouted = draft(text="  " + draft().text.upper().rstrip(".") + "  ")
    placement = await MemoryManager(kb, queued()).place(shouted, source="r1:p1")
    assert (placement.op, placement.duplicate_of, placement.model_calls) == ("discard", old.id, 0)
    assert placement.learning_id is None
    assert steps(placement)[-1] == ("/shoes/sneakers", "discard", old.id, "rule")
    assert kb.history()[-1].op == "discard"


async def test_model_descends_into_an_existing_child(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.add(node_key="/shoes", text="Leather colors: tan is brown.", attributes=["color"], actor="t")
    llm = queued({"op": "descend", "target": "Sneakers", "reason": "sneaker-specific"})
    placement = await MemoryManager(kb, llm).place(draft(category="Shoes"), source="r1:p1")
    assert steps(placement) == [
        ("/", "descend", "/shoes", "rule"),
        ("/shoes", "descend", "/shoes/sneakers", "model"),
        ("/shoes/sneakers", "add", None, "rule"),
    ]
    assert placement.node == "/shoes/sneakers"


async def test_model_creates_the_next_branch_of_the_drafts_category(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    kb.add(node_key="/shoes", text="Leather colors: tan is brown.", attributes=["color"], actor="t")
    text = "On running shoes, reflective trims are not a color."
    llm = queued({"op": "create_branch", "target": "Running", "reason": "running-specific"})
    placement = await MemoryManager(kb, llm).place(
        draft(text, category="Shoes > Running"), source="r1:p1"
    )
    assert steps(placement)[1:] == [
        ("/shoes", "create_branch", "/shoes/running", "model"),
        ("/shoes/running", "add", None, "rule"),
    ]
    assert kb.node("/shoes/running").name == "Running"
    assert [e.op for e in kb.history()][-2:] == ["create_node", "add"]


async def test_a_branch_the_model_names_itself_is_refused_even_if_the_draft_mentions_it(
    kb: KnowledgeBase,
) -> None:
    # A small model copied its prompt's placeholder into the tree ("the name of an existing
    # child"); only the draft's own category path may name a node.
    kb.ensure_path(path("Shoes"))
    kb.add(node_key="/shoes", text="Leather colors: tan is brown.", attributes=["color"], actor="t")
    for target in ("Running", "the name of an existing child"):
        text = f"On running shoes, reflective trims are not a color ({target})."
        llm = queued({"op": "create_branch", "target": target})
        placement = await MemoryManager(kb, llm).place(
            draft(text, category="Shoes"), source="r1:p1"
        )
        assert (
            placement.fallback
            == f"branch {target!r} under /shoes is not the next category of 'Shoes'"
        )
        assert placement.node == "/shoes"
    assert [n.key for n in kb.tree()] == ["/", "/shoes"]


async def test_invalid_target_falls_back_to_the_drafts_own_category(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    kb.add(node_key="/", text="Colors are lower case.", actor="t")
    llm = queued({"op": "descend", "target": "Boots"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.fallback == "descend target 'Boots' is not a child of /"
    assert steps(placement)[-1] == ("/shoes/sneakers", "add", None, "fallback")
    assert (placement.op, placement.node) == ("add", "/shoes/sneakers")
    assert kb.get(placement.learning_id or "").node == "/shoes/sneakers"
    assert kb.history()[-1].reason == "fallback: descend target 'Boots' is not a child of /"


async def test_unknown_learning_id_falls_back(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.add(node_key="/shoes/sneakers", text="Gum is not a color.", attributes=["color"], actor="t")
    llm = queued({"op": "merge", "target": "L-ffffff", "text": "x"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert (
        placement.fallback == "merge target 'L-ffffff' is not a learning shown at /shoes/sneakers"
    )
    assert placement.op == "add"


async def test_abstention_falls_back_to_the_drafts_own_category(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.add(node_key="/shoes/sneakers", text="Gum is not a color.", attributes=["color"], actor="t")
    llm = ScriptedLLM("scripted:abstain", abstain_handler)
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.fallback is not None
    assert placement.fallback.startswith("model scripted:abstain abstained at /shoes/sneakers")
    assert (placement.op, placement.node, placement.model_calls) == ("add", "/shoes/sneakers", 1)
    assert len(llm.requests) == 2  # the LLM layer re-asked once before abstaining


async def test_malformed_merge_falls_back(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers", text="Gum is not a color.", attributes=["color"], actor="t"
    )
    llm = queued({"op": "merge", "target": old.id, "text": "   "})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.fallback == (
        f"merged text for {old.id} is empty or too long (0/400 chars, example 0)"
    )
    assert kb.get(old.id).version == 1  # untouched
    assert placement.op == "add"


async def test_discard_of_a_dissimilar_learning_is_rejected(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers",
        text="Gum soles are not a color.",
        attributes=["color"],
        actor="t",
    )
    llm = queued({"op": "discard", "target": old.id})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.fallback is not None
    assert placement.fallback.startswith(f"discard as a duplicate of {old.id} rejected")
    assert placement.op == "add"
    assert [e.op for e in kb.history()].count("discard") == 0


async def test_branch_off_the_category_path_not_named_by_the_draft_falls_back(
    kb: KnowledgeBase,
) -> None:
    kb.ensure_path(path("Shoes"))
    kb.add(node_key="/", text="Colors are lower case.", actor="t")
    llm = queued({"op": "create_branch", "target": "Footwear"})
    placement = await MemoryManager(kb, llm).place(draft(), source="r1:p1")
    assert placement.fallback == (
        "branch 'Footwear' under / is not the next category of 'Shoes > Sneakers'"
    )
    assert "/footwear" not in {n.key for n in kb.tree()}


async def test_walk_is_bounded_by_max_depth(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("A > B > C > D"))
    for key in ("/", "/a", "/a/b", "/a/b/c"):
        kb.add(node_key=key, text=f"Rule at {key}.", actor="t")
    llm = ScriptedLLM(
        "scripted:down",
        lambda request: {"op": "descend", "target": _only_child(request)},
    )
    placement = await MemoryManager(kb, llm, max_depth=2).place(
        draft(category="A", attributes=[]), source="r1:p1"
    )
    assert placement.fallback == "the walk reached /a/b/c, deeper than 2 levels"
    assert placement.node == "/a"
    assert placement.model_calls == 3


async def test_target_changed_by_another_writer_falls_back(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes > Sneakers"))
    old = kb.add(
        node_key="/shoes/sneakers", text="Gum is not a color.", attributes=["color"], actor="t"
    )

    def racing(request: ScriptedRequest) -> dict[str, Any]:
        kb.set_status(old.id, "deprecated", "someone-else")  # between our read and our write
        return {"op": "merge", "target": old.id, "text": "Merged."}

    placement = await MemoryManager(kb, ScriptedLLM("scripted:race", racing)).place(
        draft(), source="r1:p1"
    )
    assert placement.fallback is not None and "it is deprecated" in placement.fallback
    assert placement.op == "add"


async def test_placed_learnings_take_the_configured_status(kb: KnowledgeBase) -> None:
    manager = MemoryManager(kb, queued(), status="proposed", actor="governed-mm")
    placement = await manager.place(draft(), source="r1:p1")
    assert kb.get(placement.learning_id or "").status == "proposed"
    assert kb.history()[-1].actor == "governed-mm"


@pytest.mark.parametrize("category", ["", "  "])
async def test_draft_without_category_lands_at_the_root(kb: KnowledgeBase, category: str) -> None:
    blank = LearningDraft.model_construct(
        category=category, attributes=[], text="Be literal.", example=""
    )
    placement = await MemoryManager(kb, queued()).place(blank, source="r1:p1")
    assert (placement.op, placement.node) == ("add", "/")


def _only_child(request: ScriptedRequest) -> str:
    line = next(ln for ln in request.prompt.splitlines() if ln.startswith("children: "))
    return line.removeprefix("children: ").split(" (")[0]
