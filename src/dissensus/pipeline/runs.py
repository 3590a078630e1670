"""Runs as people and programs list them: one read model for the CLI, the web app and the API.

A finished run is described by the summary it stored; a run still going (or stopped) by the same
fold over its stored rows (:func:`~dissensus.pipeline.summary.summarize`) with its model calls
counted so far. Every front reads runs through :func:`list_runs` and :func:`get_run`, so
``dissensus runs``, the dashboard and ``/api/v1/runs`` cannot report different numbers for one
run.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dissensus.errors import UnknownRunError
from dissensus.observability.costs import spend_by_category
from dissensus.pipeline.store import RunStore, run_state
from dissensus.pipeline.summary import RunSummary, summarize
from dissensus.storage import Database, Run, RunProduct

__all__ = ["RunView", "get_run", "list_runs", "require_run", "run_row"]


class RunView(BaseModel):
    """One run: where it read and wrote, its state, and what it did."""

    run_id: str
    status: str
    """``running``, ``completed``, or ``stopped``: its process ended before the run did (killed,
    interrupted or failed); ``dissensus run ... --run-id RUN`` resumes it."""
    created_at: datetime
    finished_at: datetime | None
    input_path: str
    output_path: str | None
    summary: RunSummary
    """Stored at the end; recomputed from the rows so far while the run has none."""
    final: bool
    """Whether ``summary`` is the run's own end-of-run summary (else a fold of rows so far, in
    which ``learnings_added`` and ``wall_seconds`` are not known yet and read 0)."""
    cost_usd: float = 0.0
    """The run's model tokens at the models' list prices (local models are free)."""

    @property
    def tokens_per_product(self) -> float:
        s = self.summary
        return (s.input_tokens + s.output_tokens) / s.products if s.products else 0.0

    @property
    def cost_per_product(self) -> float:
        return self.cost_usd / self.summary.products if self.summary.products else 0.0

    @property
    def disagreement_rate(self) -> float:
        return self.summary.disagreement_rate

    @property
    def supervisor_calls_per_product(self) -> float:
        s = self.summary
        return s.supervisor_calls / s.products if s.products else 0.0


def _view(
    session: Session,
    run: Run,
    db: Database,
    spent: dict[tuple[str, str], tuple[int, float]],
) -> RunView:
    if run.summary is not None:
        summary, final = RunSummary.model_validate(run.summary), True
    else:
        rows = session.scalars(
            select(RunProduct).where(RunProduct.run_id == run.id).order_by(RunProduct.seq)
        ).all()
        summary = summarize(
            run.id,
            list(rows),
            learnings_added=0,
            totals=RunStore(db, run.id).call_totals(),
            wall_seconds=0.0,
            resumed=False,
        )
        final = False
    return RunView(
        run_id=run.id,
        status=run_state(run),
        created_at=run.created_at,
        finished_at=run.finished_at,
        input_path=run.input_path,
        output_path=run.output_path,
        summary=summary,
        final=final,
        cost_usd=sum(cost for (run_id, _), (_t, cost) in spent.items() if run_id == run.id),
    )


def list_runs(db: Database, *, limit: int | None = 50) -> list[RunView]:
    """The newest ``limit`` runs (``None``: all), oldest first."""
    with db.read() as session:
        query = select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if limit is not None:
            query = query.limit(limit)
        runs = list(session.scalars(query))
        # One pass over the call log for every run listed, not a query per run.
        spent = spend_by_category(session, [run.id for run in runs])
        return [_view(session, run, db, spent) for run in reversed(runs)]


def get_run(db: Database, run_id: str) -> RunView:
    """One run by id.

    Raises:
        UnknownRunError: there is no such run.
    """
    with db.read() as session:
        run = run_row(session, run_id)
        return _view(session, run, db, spend_by_category(session, [run.id]))


def require_run(db: Database, run_id: str) -> None:
    """Check that a run exists, for commands that filter by one: a mistyped id must be an
    error, not an empty answer that reads as "nothing happened".

    Raises:
        UnknownRunError: there is no such run.
    """
    with db.read() as session:
        run_row(session, run_id)


def run_row(session: Session, run_id: str) -> Run:
    """The stored run, or the one error every command gives for an unknown run id.

    Raises:
        UnknownRunError: there is no such run.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise UnknownRunError(f"no run {run_id!r}; list runs with `dissensus runs list`")
    return run
