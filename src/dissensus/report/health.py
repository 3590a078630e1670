"""The per-category health series and the sweet-spot check."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select

from dissensus.config import SweetSpotSettings
from dissensus.domain import CategoryPath
from dissensus.domain.rates import disagreement_rate
from dissensus.knowledge import KnowledgeBase
from dissensus.knowledge.effectiveness import LearningEffect, measure_effects
from dissensus.knowledge.versions import state_at
from dissensus.observability.costs import spend_by_category
from dissensus.storage import KbEvent, Run, RunProduct

__all__ = ["BandCheck", "CategoryPoint", "HealthReport", "band_check", "build_report"]


class CategoryPoint(BaseModel):
    """One category in one run."""

    run_id: str
    at: datetime
    category: str
    products: int
    disagreement_rate: float
    supervisor_calls: int
    learnings_added: int
    """Learnings created on the category's path during the run."""
    learnings_active: int
    """Active learnings on the category's path when the run ended."""
    learnings_deprecated: int
    tokens: int = 0
    """Model tokens (input and output) spent on the category's products in the run."""
    cost_usd: float = 0.0
    """Those tokens at the models' list prices (0 for local models)."""

    @property
    def tokens_per_product(self) -> float:
        return self.tokens / self.products if self.products else 0.0

    @property
    def cost_per_product(self) -> float:
        return self.cost_usd / self.products if self.products else 0.0

    @property
    def supervisor_calls_per_product(self) -> float:
        """Supervisor calls per product: comparable across runs of different sizes."""
        return self.supervisor_calls / self.products if self.products else 0.0


class BandCheck(BaseModel):
    """A category's latest disagreement rate against the sweet-spot band."""

    category: str
    rate: float
    position: Literal["below", "inside", "above"]
    cause: str = ""


class HealthReport(BaseModel):
    """Everything ``dissensus report`` shows."""

    points: list[CategoryPoint] = Field(default_factory=list)
    """By run time, then category."""
    band: list[BandCheck] = Field(default_factory=list)
    top_learnings: list[LearningEffect] = Field(default_factory=list)
    """Measured learnings, best (most negative) effect first."""


def band_check(category: str, rate: float, band: SweetSpotSettings) -> BandCheck:
    """Place ``rate`` in the band and say the likely cause when it is outside."""
    if rate < band.low:
        return BandCheck(
            category=category,
            rate=rate,
            position="below",
            cause="too low: evaluators may be rubber-stamping, or the category is saturated "
            "(audit consensus results; consider a stricter evaluator)",
        )
    if rate > band.high:
        return BandCheck(
            category=category,
            rate=rate,
            position="above",
            cause="too high: workers or prompts are not mature enough yet and supervisor cost "
            "rises (check its learnings, the schema descriptions, or stronger workers)",
        )
    return BandCheck(category=category, rate=rate, position="inside")


def build_report(
    kb: KnowledgeBase,
    band: SweetSpotSettings,
    *,
    min_products: int = 5,
    threshold: float = 0.15,
    top: int = 10,
) -> HealthReport:
    """Build the report from completed and running runs, oldest first."""
    db = kb.database
    report = HealthReport()
    with db.read() as session:
        runs = session.execute(
            select(Run.id, Run.created_at, Run.finished_at).order_by(Run.created_at, Run.id)
        ).all()
        grouped = session.execute(
            select(
                RunProduct.run_id,
                RunProduct.category,
                func.count(),
                func.sum(case((RunProduct.disputed_attributes > 0, 1), else_=0)),
                # Portable: PostgreSQL has no sum(boolean).
                func.sum(case((RunProduct.supervisor_called.is_(True), 1), else_=0)),
                func.max(RunProduct.finished_at),
            )
            .where(RunProduct.category.is_not(None))
            .group_by(RunProduct.run_id, RunProduct.category)
        ).all()
        spent = spend_by_category(session)
        by_run: dict[str, list[tuple[str, int, int, int, datetime]]] = defaultdict(list)
        for run_id, category, count, n_disputed, n_calls, last in grouped:
            by_run[run_id].append(
                (str(category), int(count), int(n_disputed or 0), int(n_calls or 0), last)
            )
        for run_id, created, finished in runs:
            rows = by_run.get(run_id)
            if not rows:
                continue
            end = finished or max(r[4] for r in rows)
            version = session.scalar(select(func.max(KbEvent.seq)).where(KbEvent.at <= end)) or 0
            state = state_at(session, version)
            for category, n, disputed, calls, _ in sorted(rows):
                try:
                    keys = set(CategoryPath.parse(category).ancestor_keys())
                except ValueError:
                    continue
                on_path = [lr for lr in state.learnings.values() if lr.node in keys]
                report.points.append(
                    CategoryPoint(
                        run_id=run_id,
                        at=end,
                        category=category,
                        products=n,
                        disagreement_rate=disagreement_rate(disputed, n),
                        supervisor_calls=calls,
                        learnings_added=sum(
                            1
                            for lr in on_path
                            if lr.created_at is not None and created <= lr.created_at <= end
                        ),
                        learnings_active=sum(lr.status == "active" for lr in on_path),
                        learnings_deprecated=sum(lr.status == "deprecated" for lr in on_path),
                        tokens=spent.get((run_id, category), (0, 0.0))[0],
                        cost_usd=spent.get((run_id, category), (0, 0.0))[1],
                    )
                )
    latest: dict[str, CategoryPoint] = {}
    for point in report.points:
        latest[point.category] = point
    report.band = [band_check(c, p.disagreement_rate, band) for c, p in sorted(latest.items())]
    effects = measure_effects(kb, min_products=min_products, threshold=threshold)
    report.top_learnings = [e for e in effects if e.effect is not None][:top]
    return report
