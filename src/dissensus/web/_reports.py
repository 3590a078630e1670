"""The dashboard's runs series, mapped from the one runs read model.

Nothing here reads tables: runs come from :func:`dissensus.pipeline.runs.list_runs` (which the
CLI and the API read too), queue depth and a learning's cases and outputs from
``dissensus.review.provenance``, the knowledge base's size from :meth:`Governance.size_series`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from dissensus.pipeline.runs import list_runs
from dissensus.storage import Database

__all__ = ["MAX_RUNS", "RunPoint", "run_series"]

MAX_RUNS = 50
"""Runs shown on the dashboard (the newest)."""


class RunPoint(BaseModel):
    """One run on the dashboard."""

    run_id: str
    started_at: datetime
    status: str
    products: int
    supervisor_calls: int
    tokens_per_product: float = 0.0
    cost_per_product: float = 0.0
    """US dollars at the models' list prices (0 for local models)."""
    disagreement: dict[str, float] = Field(default_factory=dict)
    """Category → share of its products the workers did not settle."""


def run_series(db: Database, limit: int = MAX_RUNS) -> list[RunPoint]:
    """The newest runs, oldest first, with their disagreement rate per category."""
    return [
        RunPoint(
            run_id=run.run_id,
            started_at=run.created_at,
            status=run.status,
            products=run.summary.products,
            supervisor_calls=run.summary.supervisor_calls,
            tokens_per_product=run.tokens_per_product,
            cost_per_product=run.cost_per_product,
            disagreement={
                name: stats.disagreement_rate
                for name, stats in sorted(run.summary.by_category.items())
            },
        )
        for run in list_runs(db, limit=limit)
    ]
