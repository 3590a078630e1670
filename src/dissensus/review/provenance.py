"""Provenance: the stored cases a learning cites, the outputs its prompts produced, and the
review queue's depth over time.

One home for these reads, which the web app's pages and charts and the JSON API call, so the
fronts never write SQL of their own over run and review tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Text, cast, select

from dissensus.domain import EnrichedRecord, Learning
from dissensus.review.item import ReviewContext, Submission, SupervisorView
from dissensus.storage import Database, RunProduct
from dissensus.storage.tables import ReviewItemRow, utcnow

__all__ = ["CaseView", "OutputUse", "cases_of", "outputs_using", "queue_depth_series"]


class CaseView(BaseModel):
    """One case a learning cites (``run:product``), with what is stored about it."""

    source: str
    run_id: str | None = None
    seq: int | None = None
    product_id: str
    record: EnrichedRecord | None = None
    """The output record as stored now; ``None`` when the run or record is gone."""
    review_item_id: int | None = None
    supervisor: SupervisorView | None = None
    """The supervisor's answer and reasoning, stored with the record it settled."""
    submission: Submission | None = None
    """The reviewer's answer, when a review of this case was submitted."""


class OutputUse(BaseModel):
    """An output record whose values came from prompts that held a learning."""

    run_id: str
    seq: int
    product_id: str
    category: str | None
    attributes: list[str]
    """The attributes whose ``learnings`` list the learning."""


def queue_depth_series(db: Database) -> list[tuple[datetime, int]]:
    """Items not yet submitted after each time one entered or left the queue, and now."""
    with db.read() as session:
        rows = session.execute(select(ReviewItemRow.created_at, ReviewItemRow.closed_at)).all()
    steps: list[tuple[datetime, int]] = []
    for created, closed in rows:
        steps.append((created, 1))
        if closed is not None:
            steps.append((closed, -1))
    steps.sort(key=lambda s: s[0])
    depth, series = 0, []
    for at, delta in steps:
        depth += delta
        series.append((at, depth))
    if series:
        series.append((utcnow(), depth))  # the line runs up to now
    return series


def cases_of(db: Database, learning: Learning) -> list[CaseView]:
    """The cases a learning cites in ``sources``, with their records and review answers."""
    views = []
    with db.read() as session:
        for source in learning.sources:
            view = _case(session, source)
            views.append(view)
    return views


def _case(session: Any, source: str) -> CaseView:
    # A case id is ``run_id:product_id``; either may hold a colon, so try each split and keep
    # the one that names a stored record.
    for i, char in enumerate(source):
        if char != ":":
            continue
        run_id, product_id = source[:i], source[i + 1 :]
        row = session.scalars(
            select(RunProduct)
            .where(RunProduct.run_id == run_id, RunProduct.product_id == product_id)
            .order_by(RunProduct.seq)
            .limit(1)
        ).first()
        if row is None:
            continue
        view = CaseView(
            source=source,
            run_id=run_id,
            seq=row.seq,
            product_id=product_id,
            record=EnrichedRecord.model_validate(row.output),
        )
        item = session.scalars(
            select(ReviewItemRow).where(
                ReviewItemRow.run_id == run_id, ReviewItemRow.seq == row.seq
            )
        ).first()
        if row.supervisor is not None:
            view.supervisor = SupervisorView.model_validate(row.supervisor)
        if item is not None:
            view.review_item_id = item.id
            view.supervisor = ReviewContext.model_validate(item.context).supervisor
            if item.submission:
                view.submission = Submission.model_validate(item.submission)
        return view
    run_id, _, product_id = source.partition(":")
    return CaseView(source=source, run_id=run_id or None, product_id=product_id or source)


def outputs_using(db: Database, learning_id: str, limit: int = 50) -> list[OutputUse]:
    """The newest output records with a value produced by a prompt that held the learning."""
    needle = f'"{learning_id}"'
    uses = []
    with db.read() as session:
        rows = session.execute(
            select(
                RunProduct.run_id,
                RunProduct.seq,
                RunProduct.product_id,
                RunProduct.category,
                RunProduct.output,
            )
            .where(cast(RunProduct.output, Text).contains(needle))
            .order_by(RunProduct.finished_at.desc())
            .limit(limit)
        ).all()
    for run_id, seq, product_id, category, output in rows:
        record = EnrichedRecord.model_validate(output)
        names = [n for n, a in record.attributes.items() if learning_id in a.learnings]
        if names:
            uses.append(
                OutputUse(
                    run_id=run_id,
                    seq=seq,
                    product_id=product_id,
                    category=category,
                    attributes=names,
                )
            )
    return uses
