"""Effectiveness: does a learning lower disagreement on the products whose prompts held it?

For each learning, the disagreement rate (share of products with a disputed attribute) of the
products whose output lists it in an attribute's ``learnings`` is compared with the rate of the
products of the same node (its category and everything under it) finished before the learning
existed. The effect is the difference (negative helps). It reads the ``run_products`` table as
data — the output contract, not the pipeline's code — so this room still imports no runs.

A learning whose effect is at or above zero with enough products on both sides is flagged
``no_effect``; above ``threshold`` it is flagged ``hurts`` and, when ``auto_deprecate``, an
active one is deprecated, the evidence written into the history event's reason and the flag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select

from dissensus.domain import CategoryPath
from dissensus.knowledge._rows import deprecate_row
from dissensus.knowledge.aggregator import flag_learning
from dissensus.knowledge.knowledge_base import KnowledgeBase
from dissensus.storage import LearningRow, RunProduct
from dissensus.storage.tables import LearningFlagRow

__all__ = ["EffectVerdict", "LearningEffect", "act_on_effects", "measure_effects"]

EffectVerdict = Literal["helps", "no_effect", "hurts", "unknown"]


class LearningEffect(BaseModel):
    """One learning's measured effect on disagreement."""

    learning_id: str
    node: str
    status: str
    text: str
    with_products: int
    with_rate: float | None
    before_products: int
    before_rate: float | None
    effect: float | None
    """``with_rate - before_rate``: negative helps, positive hurts; ``None`` if unmeasured."""
    verdict: EffectVerdict

    def evidence(self) -> str:
        """The measurement in one sentence, for history events and reports."""
        if self.with_rate is None or self.before_rate is None:
            return f"{self.with_products} products with it, {self.before_products} before it"
        return (
            f"disagreement {self.with_rate:.0%} on {self.with_products} products with it vs "
            f"{self.before_rate:.0%} on {self.before_products} comparable products before it"
        )


class _Product(BaseModel):
    keys: list[str]
    disputed: bool
    finished_at: datetime
    learnings: set[str]


def _products(kb: KnowledgeBase) -> list[_Product]:
    products: list[_Product] = []
    with kb.database.read() as session:
        rows = session.execute(
            select(
                RunProduct.category,
                RunProduct.output,
                RunProduct.disputed_attributes,
                RunProduct.finished_at,
            ).where(RunProduct.category.is_not(None))
        )
        for category, output, disputed, finished_at in rows:
            try:
                keys = CategoryPath.parse(str(category)).ancestor_keys()
            except ValueError:
                continue
            used: set[str] = set()
            for result in (output.get("attributes") or {}).values():
                used.update(result.get("learnings") or [])
            products.append(
                _Product(keys=keys, disputed=disputed > 0, finished_at=finished_at, learnings=used)
            )
    return products


def _rate(items: list[_Product]) -> float | None:
    return sum(p.disputed for p in items) / len(items) if items else None


def measure_effects(
    kb: KnowledgeBase, *, min_products: int = 5, threshold: float = 0.15
) -> list[LearningEffect]:
    """Measure every learning that ever reached a prompt, best effect first."""
    products = _products(kb)
    effects: list[LearningEffect] = []
    # Values and examples are checked by the gate, not by disagreement rates.
    for learning in kb.list(kind="rule"):
        with_it = [p for p in products if learning.id in p.learnings]
        if not with_it or learning.created_at is None:
            continue
        created = learning.created_at
        before = [p for p in products if learning.node in p.keys and p.finished_at < created]
        with_rate, before_rate = _rate(with_it), _rate(before)
        effect = None
        verdict: EffectVerdict = "unknown"
        if (
            with_rate is not None
            and before_rate is not None
            and min(len(with_it), len(before)) >= min_products
        ):
            effect = round(with_rate - before_rate, 4)
            verdict = "hurts" if effect > threshold else "no_effect" if effect >= 0 else "helps"
        effects.append(
            LearningEffect(
                learning_id=learning.id,
                node=learning.node,
                status=learning.status,
                text=learning.text,
                with_products=len(with_it),
                with_rate=with_rate,
                before_products=len(before),
                before_rate=before_rate,
                effect=effect,
                verdict=verdict,
            )
        )
    effects.sort(key=lambda e: (e.effect is None, e.effect or 0.0, e.learning_id))
    return effects


def act_on_effects(
    kb: KnowledgeBase,
    effects: list[LearningEffect],
    *,
    auto_deprecate: bool = True,
    actor: str = "effectiveness",
) -> list[str]:
    """Flag learnings that do not help and deprecate those that hurt; return deprecated ids.

    A learning is flagged once per kind (an open flag is not repeated).
    """
    deprecated: list[str] = []
    with kb.database.write() as session:
        for effect in effects:
            if effect.verdict not in ("no_effect", "hurts"):
                continue
            # FOR UPDATE: on PostgreSQL a concurrent change to this row waits, not lost.
            row = session.get(LearningRow, effect.learning_id, with_for_update=True)
            if row is None:
                continue
            open_flag = session.scalar(
                select(LearningFlagRow.id).where(
                    LearningFlagRow.learning_id == effect.learning_id,
                    LearningFlagRow.kind == effect.verdict,
                    LearningFlagRow.state == "open",
                )
            )
            evidence = effect.model_dump(mode="json", exclude={"text"})
            if open_flag is None:
                flag_learning(
                    session,
                    effect.learning_id,
                    effect.verdict,
                    f"{effect.verdict.replace('_', ' ')}: {effect.evidence()}",
                    actor=actor,
                    evidence=evidence,
                )
            if effect.verdict == "hurts" and auto_deprecate and row.status == "active":
                deprecate_row(
                    session,
                    row,
                    actor,
                    f"deprecated, it hurts: {effect.evidence()} (effect {effect.effect:+.2f})",
                )
                deprecated.append(row.id)
    return deprecated
