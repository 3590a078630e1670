"""What runs spent: model tokens and their list-price cost, from the stored model calls.

The one place cost is computed from the call log; the runs read model, the report and the
dashboard read it here, so they cannot disagree about what a run cost.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dissensus.domain import Usage
from dissensus.llm.profiles import price_profile
from dissensus.storage import RunProduct
from dissensus.storage.tables import ModelCall

__all__ = ["spend_by_category"]


def spend_by_category(
    session: Session, run_ids: Collection[str] | None = None
) -> dict[tuple[str, str], tuple[int, float]]:
    """(run, category) → (model tokens, dollars at list prices; local models are free)."""
    query = (
        select(
            ModelCall.run_id,
            RunProduct.category,
            ModelCall.model,
            func.sum(ModelCall.input_tokens),
            func.sum(ModelCall.output_tokens),
        )
        .join(
            RunProduct,
            (RunProduct.run_id == ModelCall.run_id) & (RunProduct.seq == ModelCall.seq),
        )
        .where(RunProduct.category.is_not(None))
        .group_by(ModelCall.run_id, RunProduct.category, ModelCall.model)
    )
    if run_ids is not None:
        query = query.where(ModelCall.run_id.in_(list(run_ids)))
    spent: dict[tuple[str, str], tuple[int, float]] = {}
    for run, category, model, tokens_in, tokens_out in session.execute(query):
        usage = Usage(input_tokens=int(tokens_in or 0), output_tokens=int(tokens_out or 0))
        tokens, cost = spent.get((run, str(category)), (0, 0.0))
        spent[(run, str(category))] = (
            tokens + usage.total_tokens,
            cost + price_profile(model).cost(usage),
        )
    return spent
