"""Outcomes of data learnings: a person's review tells which known values were right.

A value learning makes the lexicon worker propose its value wherever it occurs; when that value
reached a product's output (the result cites the learning) and a person then reviewed the
attribute, the review is a measured outcome: kept → helpful, corrected → harmful. A learning
corrected on ``retire_after`` products more often than it was kept is retired automatically
(deprecated, the evidence in the history event) — unless a person wrote or approved it, in which
case it is flagged ``hurts`` for them to decide: a machine never retires a person's learning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dissensus.domain import AttributeResult
from dissensus.domain.lexicon import value_tokens
from dissensus.knowledge._rows import deprecate_row
from dissensus.knowledge.aggregator import flag_learning
from dissensus.knowledge.knowledge_base import KnowledgeBase
from dissensus.storage import LearningRow

__all__ = ["RETIRE_AFTER", "record_review_outcomes"]

RETIRE_AFTER = 2
"""Corrections (on distinct reviewed products) before a harmful value learning is retired."""


def record_review_outcomes(
    kb: KnowledgeBase,
    before: Mapping[str, AttributeResult],
    final: Mapping[str, str | None],
    *,
    reviewer: str,
    product: str,
    retire_after: int = RETIRE_AFTER,
) -> list[str]:
    """Count a review's outcome for every value learning behind a reviewed value; returns the
    learnings retired (or flagged) because of it."""
    acted: list[str] = []
    for attribute, decided in final.items():
        result = before.get(attribute)
        if result is None or result.value is None:
            continue
        given = value_tokens(result.value)
        for learning_id in result.learnings:
            if _gave(kb, learning_id, attribute, given):
                kept = decided is not None and tuple(value_tokens(decided)) == tuple(given)
                if _count(kb, learning_id, kept, reviewer, product, attribute, retire_after):
                    acted.append(learning_id)
    return acted


def _gave(kb: KnowledgeBase, learning_id: str, attribute: str, given: Sequence[str]) -> bool:
    with kb.database.read() as session:
        row = session.get(LearningRow, learning_id)
        if row is None or row.kind != "value":
            return False
        value = (row.values or {}).get(attribute)
        return value is not None and tuple(value_tokens(value)) == tuple(given)


def _count(
    kb: KnowledgeBase,
    learning_id: str,
    kept: bool,
    reviewer: str,
    product: str,
    attribute: str,
    retire_after: int,
) -> bool:
    with kb.database.write() as session:
        row = session.get(LearningRow, learning_id, with_for_update=True)
        if row is None:
            return False
        if kept:
            row.helpful = (row.helpful or 0) + 1
            return False
        row.harmful = (row.harmful or 0) + 1
        harmful, helpful = row.harmful, row.helpful or 0
        if row.status != "active" or harmful < retire_after or harmful <= helpful:
            return False
        evidence = (
            f"{reviewer} corrected {attribute} on {product}: a person corrected the value it "
            f"gave on {harmful} reviewed products and kept it on {helpful}"
        )
        if row.approved:
            flag_learning(
                session,
                learning_id,
                "hurts",
                f"{evidence}; a person approved it, so a person decides",
                actor="outcomes",
                evidence={"harmful": harmful, "helpful": helpful},
            )
            return True
        deprecate_row(session, row, "outcomes", f"retired: {evidence}")
        return True
