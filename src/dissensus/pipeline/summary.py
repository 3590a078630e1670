"""The end-of-run summary, derived from stored rows so a resumed run reports the whole run."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from dissensus.domain import Learning
from dissensus.domain.rates import disagreement_rate
from dissensus.storage.tables import RunProduct

__all__ = ["CategoryStats", "LearningImpact", "RunSummary", "summarize"]


class CategoryStats(BaseModel):
    """Disagreement in one category."""

    products: int = 0
    disputed_products: int = 0
    """Products with at least one attribute the workers did not settle."""
    attributes: int = 0
    disputed_attributes: int = 0

    @property
    def disagreement_rate(self) -> float:
        return disagreement_rate(self.disputed_products, self.products)


class LearningImpact(BaseModel):
    """What the learnings this run wrote changed within the run itself.

    The halves are each category's products in input order, so a category's later batches,
    which saw what the earlier ones taught, are compared with those earlier ones.
    """

    by_kind: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Kind (``value``, ``example``, ``rule``) to status to count, for this run's learnings."""
    settled_by_learnings: int = 0
    """Attribute values settled by consensus with one of this run's learnings in the workers'
    evidence (a known value the lexicon used, an example or a rule in the prompt)."""
    first_half_disagreement: float = 0.0
    second_half_disagreement: float = 0.0
    first_half_supervisor_calls: int = 0
    second_half_supervisor_calls: int = 0
    first_half_disputed_attributes: float = 0.0
    """Attributes sent to the supervisor per product, in the first halves."""
    second_half_disputed_attributes: float = 0.0
    routed: int = 0
    """Lone values settled by a route (``consensus.routes``) instead of the supervisor: what
    the supervisor's earlier rulings spared it, and the verified catalog's presence prior
    (which a run without learning has too)."""


class RunSummary(BaseModel):
    """What a run did, for the terminal and for ``runs.summary``."""

    run_id: str
    products: int = 0
    errors: int = 0
    attributes: int = 0
    statuses: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, CategoryStats] = Field(default_factory=dict)
    supervisor_calls: int = 0
    learnings_added: int = 0
    model_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    wall_seconds: float = 0.0
    """Time spent by this invocation (a resumed run counts only its own part)."""
    resumed: bool = False
    impact: LearningImpact | None = None
    """``None`` when the run wrote no learnings."""

    @property
    def nothing_enriched(self) -> bool:
        """Records failed and none was enriched: a failed run, not a partial one."""
        return self.errors > 0 and self.products == 0

    @property
    def consensus_rate(self) -> float:
        """Share of attributes settled by worker agreement alone."""
        return self.statuses.get("consensus", 0) / self.attributes if self.attributes else 0.0

    @property
    def disagreement_rate(self) -> float:
        disputed = sum(c.disputed_products for c in self.by_category.values())
        return disagreement_rate(disputed, self.products)


def summarize(
    run_id: str,
    rows: list[RunProduct],
    *,
    learnings_added: int,
    totals: tuple[int, int, int],
    wall_seconds: float,
    resumed: bool,
    learned: list[Learning] | None = None,
) -> RunSummary:
    """Fold stored product rows into a summary; ``learned`` are the learnings the run wrote."""
    summary = RunSummary(
        run_id=run_id,
        learnings_added=learnings_added,
        model_requests=totals[0],
        input_tokens=totals[1],
        output_tokens=totals[2],
        wall_seconds=round(wall_seconds, 2),
        resumed=resumed,
    )
    statuses: Counter[str] = Counter()
    for row in rows:
        if row.output.get("error"):
            summary.errors += 1
            continue
        summary.products += 1
        attrs = row.output.get("attributes") or {}
        statuses.update(a["status"] for a in attrs.values())
        summary.attributes += len(attrs)
        stats = summary.by_category.setdefault(row.category or "?", CategoryStats())
        stats.products += 1
        stats.attributes += len(attrs)
        stats.disputed_attributes += row.disputed_attributes
        stats.disputed_products += 1 if row.disputed_attributes else 0
        summary.supervisor_calls += 1 if row.supervisor_called else 0
    summary.statuses = dict(statuses)
    if learned:
        summary.impact = _impact(rows, learned)
    return summary


def _impact(rows: list[RunProduct], learned: list[Learning]) -> LearningImpact:
    impact = LearningImpact()
    for learning in learned:
        kind = impact.by_kind.setdefault(learning.kind, {})
        kind[learning.status] = kind.get(learning.status, 0) + 1
    ids = {learning.id for learning in learned}
    by_category: dict[str, list[RunProduct]] = {}
    for row in sorted(rows, key=lambda r: r.seq):
        if row.output.get("error"):
            continue
        by_category.setdefault(row.category or "?", []).append(row)
        for attribute in (row.output.get("attributes") or {}).values():
            if attribute["status"] == "consensus" and ids.intersection(attribute["learnings"]):
                impact.settled_by_learnings += 1
            impact.routed += attribute["status"] == "routed"
    first: list[RunProduct] = []
    second: list[RunProduct] = []
    for items in by_category.values():
        half = len(items) // 2
        first += items[:half]
        second += items[half:]
    impact.first_half_disagreement = _disputed(first)
    impact.second_half_disagreement = _disputed(second)
    impact.first_half_supervisor_calls = sum(1 for r in first if r.supervisor_called)
    impact.second_half_supervisor_calls = sum(1 for r in second if r.supervisor_called)
    impact.first_half_disputed_attributes = _per_product(first)
    impact.second_half_disputed_attributes = _per_product(second)
    return impact


def _per_product(rows: list[RunProduct]) -> float:
    return round(sum(r.disputed_attributes for r in rows) / len(rows), 2) if rows else 0.0


def _disputed(rows: list[RunProduct]) -> float:
    return sum(1 for r in rows if r.disputed_attributes) / len(rows) if rows else 0.0
