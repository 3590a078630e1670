"""Retrieval for prompts (scope, ranking, token budget) and lexical search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissensus.domain import Learning
from dissensus.knowledge import KnowledgeBase, estimate_tokens, select_for_prompt

from .conftest import path


@pytest.fixture
def kb(any_kb: Any) -> KnowledgeBase:
    """Every store: SQLite, PostgreSQL and DynamoDB."""
    return any_kb  # type: ignore[no-any-return]


def _seed(kb: KnowledgeBase) -> dict[str, str]:
    kb.ensure_path(path("Shoes > Sneakers"))
    kb.ensure_path(path("Shoes > Boots"))
    kb.ensure_path(path("Kitchen"))
    ids = {
        "root_any": kb.add(node_key="/", text="Never invent values.", actor="t").id,
        "shoes_size": kb.add(
            node_key="/shoes", text="US sizes win over EU.", attributes=["size"], actor="t"
        ).id,
        "sneakers_color": kb.add(
            node_key="/shoes/sneakers",
            text="Colorway names map to base colors.",
            attributes=["Color"],
            actor="t",
        ).id,
        "boots_color": kb.add(
            node_key="/shoes/boots",
            text="Boot leather tan is brown.",
            attributes=["color"],
            actor="t",
        ).id,
        "kitchen": kb.add(node_key="/kitchen", text="Blade length in cm.", actor="t").id,
    }
    retired = kb.add(node_key="/shoes/sneakers", text="Old colour rule.", actor="t")
    kb.set_status(retired.id, "deprecated", "t")
    pending = kb.add(node_key="/shoes", text="Pending.", actor="t", status="proposed")
    ids.update(retired=retired.id, pending=pending.id)
    return ids


def test_retrieve_takes_active_learnings_on_the_path_deepest_first(kb: KnowledgeBase) -> None:
    ids = _seed(kb)
    got = [lr.id for lr in kb.retrieve(path("Shoes > Sneakers"))]
    assert got == [ids["sneakers_color"], ids["shoes_size"], ids["root_any"]]


def test_retrieve_filters_by_attribute_and_keeps_unscoped_learnings(kb: KnowledgeBase) -> None:
    ids = _seed(kb)
    got = [lr.id for lr in kb.retrieve(path("Shoes > Sneakers"), ["color"])]
    assert got == [ids["sneakers_color"], ids["root_any"]]  # 'Color' matches 'color'
    assert [lr.id for lr in kb.retrieve(path("Shoes > Sneakers"), ["weight"])] == [ids["root_any"]]


def test_retrieve_for_an_unknown_path_still_gives_root_learnings(kb: KnowledgeBase) -> None:
    ids = _seed(kb)
    assert [lr.id for lr in kb.retrieve(path("Garden > Hoses"))] == [ids["root_any"]]


def test_retrieve_ranks_equal_depth_by_uses_then_recency(kb: KnowledgeBase) -> None:
    kb.ensure_path(path("Shoes"))
    first = kb.add(node_key="/shoes", text="First.", actor="t")
    second = kb.add(node_key="/shoes", text="Second.", actor="t")
    third = kb.add(node_key="/shoes", text="Third.", actor="t")
    kb.record_uses([first.id, first.id])  # duplicates in one call count once
    kb.record_uses([first.id])
    kb.edit(second.id, text="Second, edited.", actor="t")  # most recently updated
    assert kb.get(first.id).uses == 2
    got = [lr.id for lr in kb.retrieve(path("Shoes"))]
    assert got == [first.id, second.id, third.id]


def test_retrieve_stays_within_the_token_budget_skipping_what_does_not_fit(
    kb: KnowledgeBase,
) -> None:
    kb.ensure_path(path("Shoes"))
    long = kb.add(node_key="/shoes", text="L" * 380, actor="t")
    short = kb.add(node_key="/", text="Short rule.", actor="t")
    assert estimate_tokens(long.render() + "\n") > 50
    assert [lr.id for lr in kb.retrieve(path("Shoes"), budget_tokens=50)] == [short.id]
    assert [lr.id for lr in kb.retrieve(path("Shoes"), budget_tokens=1000)] == [long.id, short.id]
    assert kb.retrieve(path("Shoes"), budget_tokens=0) == []


def test_estimate_tokens_is_four_characters_per_token_rounded_up() -> None:
    assert [estimate_tokens(s) for s in ("", "abc", "abcd", "abcde")] == [0, 1, 1, 2]


_learnings = st.lists(
    st.builds(
        Learning,
        id=st.uuids().map(lambda u: f"L-{u.hex[:6]}"),
        node=st.sampled_from(["/", "/a", "/a/b"]),
        attributes=st.lists(st.sampled_from(["color", "size", "brand"]), max_size=2),
        text=st.text(min_size=1, max_size=120),
        uses=st.integers(0, 5),
        updated_at=st.integers(0, 10_000).map(
            lambda s: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
        ),
    ),
    max_size=12,
    unique_by=lambda lr: lr.id,
)


@given(
    _learnings,
    st.one_of(st.none(), st.lists(st.sampled_from(["color", "size", "brand"]))),
    st.integers(0, 300),
)
def test_selection_respects_budget_scope_and_specificity(
    learnings: list[Learning], attributes: list[str] | None, budget: int
) -> None:
    depth = {"/": 0, "/a": 1, "/a/b": 2}
    chosen = select_for_prompt(learnings, depth, attributes, budget_tokens=budget)
    assert sum(estimate_tokens(lr.render() + "\n") for lr in chosen) <= budget
    for lr in chosen:
        assert attributes is None or not lr.attributes or set(lr.attributes) & set(attributes)
    depths = [depth[lr.node] for lr in chosen]
    assert depths == sorted(depths, reverse=True)


def test_search_ranks_by_word_overlap_across_nodes(kb: KnowledgeBase) -> None:
    ids = _seed(kb)
    found = kb.search("which base color for a colorway name")
    assert found[0].id == ids["sneakers_color"]
    assert [lr.id for lr in kb.search("blade length")] == [ids["kitchen"]]
    assert kb.search("zzz unknown words") == []
    # Node names count as words, and statuses other than active are left out by default.
    assert ids["retired"] not in {lr.id for lr in kb.search("old colour rule")}
    assert ids["retired"] in {lr.id for lr in kb.search("old colour rule", status=None)}


def test_search_limits_to_a_subtree_and_a_count(kb: KnowledgeBase) -> None:
    ids = _seed(kb)
    in_shoes = {lr.id for lr in kb.search("color brown base tan", node_prefix="/shoes")}
    assert in_shoes == {ids["sneakers_color"], ids["boots_color"]}
    assert {lr.id for lr in kb.search("color", node_prefix="/shoes/boots")} == {ids["boots_color"]}
    assert len(kb.search("color", limit=1)) == 1
    assert kb.search("sneakers")[0].id == ids["sneakers_color"]  # found by its node's name
