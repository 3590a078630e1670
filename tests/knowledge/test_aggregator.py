"""The learning aggregator: merges keep provenance, contradictions go to review, rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dissensus.knowledge import Governance, KnowledgeBase
from dissensus.knowledge.aggregator import Aggregator, contradiction
from dissensus.llm.testing import QueuedLLM
from dissensus.storage.tables import LearningFlagRow

from .conftest import path

pytestmark = pytest.mark.anyio

SIMILAR = [
    "Brand is the first word of the title, before the model name.",
    "The brand is the first word of the title; ignore the model name.",
    "Take the first word of the title as the brand, not the model name.",
]
BROADER = "Brand is the first word of the title, never the model name after it."


def seed(kb: KnowledgeBase) -> tuple[str, list[str], str, str, str]:
    node = kb.ensure_path(path("Home > Knives"))
    similar = [
        kb.add(node_key=node, text=t, attributes=["Brand"], sources=[f"r1:p{i}"], actor="mm").id
        for i, t in enumerate(SIMILAR)
    ]
    unique = kb.add(
        node_key=node, text="Blade length keeps its unit, e.g. 8in.", attributes=["Blade length"],
        actor="mm",
    ).id  # fmt: skip
    yes = kb.add(
        node_key=node, text="Dishwasher safe is yes when the listing says dishwasher safe.",
        attributes=["Dishwasher safe"], actor="mm",
    ).id  # fmt: skip
    no = kb.add(
        node_key=node, text="Dishwasher safe is not yes when the listing says dishwasher safe.",
        attributes=["Dishwasher safe"], actor="mm",
    ).id  # fmt: skip
    return node, similar, unique, yes, no


async def test_compaction_merges_similar_learnings_and_keeps_provenance(kb: KnowledgeBase) -> None:
    node, similar, unique, _, _ = seed(kb)
    llm = QueuedLLM("scripted:mm", [{"text": BROADER}])
    report = await Aggregator(kb, llm, min_group=3).compact()
    [group] = report.groups
    assert group.members == similar and group.fallback is None
    merged = kb.get(group.merged_into or "")
    assert (merged.text, merged.status, merged.attributes) == (BROADER, "active", ["Brand"])
    assert merged.sources == ["r1:p0", "r1:p1", "r1:p2"]
    assert {kb.get(i).status for i in similar} == {"deprecated"}
    assert kb.get(unique).status == "active"  # unique: kept as it is
    events = kb.history(learning_id=merged.id)
    assert events[0].op == "add" and all(i in events[0].reason for i in similar)
    before, after = report.before[-1], report.after[-1]
    assert (before.node, before.learnings, after.learnings) == (node, 6, 4)
    assert after.tokens < before.tokens


async def test_contradictions_are_both_sent_to_review_not_merged(kb: KnowledgeBase) -> None:
    _, _, _, yes, no = seed(kb)
    report = await Aggregator(kb, QueuedLLM("scripted:mm", [{"text": BROADER}])).compact()
    assert [(c.a, c.b) for c in report.contradictions] == [(yes, no)]
    with kb.database.read() as session:
        flags = session.execute(
            select(LearningFlagRow.learning_id, LearningFlagRow.partner_id, LearningFlagRow.state)
        ).all()
    assert sorted(flags) == sorted([(yes, no, "open"), (no, yes, "open")])
    assert [e.op for e in kb.history(learning_id=yes)][-1] == "flag"
    assert kb.get(yes).status == kb.get(no).status == "active"
    again = await Aggregator(kb, None).compact()
    assert again.contradictions == []  # flagged once


async def test_a_bad_synthesis_keeps_the_group_unmerged(kb: KnowledgeBase) -> None:
    _, similar, *_ = seed(kb)
    llm = QueuedLLM("scripted:mm", [{"text": "Brand is the first 3 words of the title."}])
    [group] = (await Aggregator(kb, llm).compact()).groups
    assert group.merged_into is None and "numbers no member states: 3" in (group.fallback or "")
    assert {kb.get(i).status for i in similar} == {"active"}


async def test_rollback_to_the_version_before_restores_the_node(kb: KnowledgeBase) -> None:
    seed(kb)
    governance = Governance(kb)
    before = governance.state()
    report = await Aggregator(
        kb, QueuedLLM("scripted:mm", [{"text": BROADER}]), budget_tokens=30
    ).compact()
    assert report.trimmed  # the small budget crowded some out
    assert not governance.state().same_content(before)
    governance.rollback(report.version_before, actor="ann")
    assert governance.state().same_content(before)


def test_contradiction_needs_the_same_scope() -> None:
    from dissensus.domain import Learning

    a = Learning(id="a", node="/", attributes=["Brand"], text="Brand is the first word")
    b = Learning(id="b", node="/", attributes=["Brand"], text="Brand is the last word")
    c = Learning(id="c", node="/", attributes=["Size"], text="Brand is the last word")
    assert contradiction(a, b, min_similarity=0.5) == "same rule with 'first' against 'last'"
    assert contradiction(a, c, min_similarity=0.5) is None
