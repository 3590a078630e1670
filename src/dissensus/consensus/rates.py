"""Disagreement counts per category, for run summaries and the "sweet spot" of escalation.

A category whose disagreement rate stays near zero teaches nothing (or its workers share the same
blind spot); one near one means the workers or prompts are not ready and the supervisor does all
the work. These counters let a run report where each category sits, and merge across workers,
batches and machines with ``+``.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from dissensus.consensus.decide import ConsensusOutcome, DecisionReason
from dissensus.domain.rates import disagreement_rate, share

__all__ = ["CategoryTally", "DisagreementTally"]

Per = Literal["product", "slot"]


def _merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return dict(sorted((Counter(a) + Counter(b)).items()))


class CategoryTally(BaseModel):
    """Counts for one category; ``+`` adds two tallies."""

    products: int = 0
    disputed_products: int = 0
    """Products with at least one disputed attribute (they become supervisor cases)."""
    slots: int = 0
    """Attribute slots decided: products × attributes."""
    disputed_slots: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    """Disputed slots by :data:`DecisionReason` (``agreement`` never appears)."""

    def __add__(self, other: CategoryTally) -> CategoryTally:
        return CategoryTally(
            products=self.products + other.products,
            disputed_products=self.disputed_products + other.disputed_products,
            slots=self.slots + other.slots,
            disputed_slots=self.disputed_slots + other.disputed_slots,
            by_reason=_merge(self.by_reason, other.by_reason),
        )

    def product_rate(self) -> float:
        """Share of products that went to the supervisor (0 when nothing was counted)."""
        return disagreement_rate(self.disputed_products, self.products)

    def slot_rate(self) -> float:
        """Share of attribute slots that went to the supervisor."""
        return share(self.disputed_slots, self.slots)

    def reason_rate(self, reason: DecisionReason) -> float:
        """Share of attribute slots disputed for ``reason``."""
        return share(self.by_reason.get(reason, 0), self.slots)


class DisagreementTally(BaseModel):
    """Per-category disagreement counts over a run; ``+`` merges two tallies.

    Categories are keyed as the caller names them (use one spelling per run, e.g. the
    category path's key).
    """

    categories: dict[str, CategoryTally] = Field(default_factory=dict)

    def record(self, category: str, outcome: ConsensusOutcome) -> None:
        """Count one product's consensus outcome under ``category``."""
        disputed = [d for d in outcome.decisions.values() if not d.agreed]
        one = CategoryTally(
            products=1,
            disputed_products=1 if disputed else 0,
            slots=len(outcome.decisions),
            disputed_slots=len(disputed),
            by_reason=dict(sorted(Counter(d.reason for d in disputed).items())),
        )
        self.categories[category] = self.categories.get(category, CategoryTally()) + one

    def __add__(self, other: DisagreementTally) -> DisagreementTally:
        merged = dict(self.categories)
        for name, tally in other.categories.items():
            merged[name] = merged.get(name, CategoryTally()) + tally
        return DisagreementTally(categories=dict(sorted(merged.items())))

    def total(self) -> CategoryTally:
        """All categories together."""
        return sum(self.categories.values(), CategoryTally())

    def rate(self, category: str | None = None, *, per: Per = "product") -> float:
        """Disagreement rate of one category (or of the whole run), per product or per slot."""
        tally = self.total() if category is None else self.categories.get(category, CategoryTally())
        return tally.product_rate() if per == "product" else tally.slot_rate()
