"""Run state in the database: which products are done, their outputs, their model calls.

A product's output and its model calls are committed in one transaction, so a run killed at any
point resumes with every product either fully done or not started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dissensus.errors import RunError
from dissensus.storage import Database
from dissensus.storage.tables import ModelCall as ModelCallRow
from dissensus.storage.tables import Run, RunProduct, utcnow

__all__ = ["RunStore", "StoredProduct"]

StoredProduct = RunProduct


class RunStore:
    """Reads and writes one run's rows."""

    def __init__(self, db: Database, run_id: str) -> None:
        self.db = db
        self.run_id = run_id

    def open(
        self,
        *,
        input_path: str,
        input_sha256: str,
        schema_path: str,
        schema_sha256: str,
        config: dict[str, Any],
        output_path: str | None = None,
    ) -> bool:
        """Create the run, or check that a resumed one reads the same files; True if resumed."""
        with self.db.write() as session:
            run = session.get(Run, self.run_id)
            if run is None:
                session.add(
                    Run(
                        id=self.run_id,
                        status="running",
                        input_path=input_path,
                        input_sha256=input_sha256,
                        schema_path=schema_path,
                        schema_sha256=schema_sha256,
                        config=config,
                        summary=None,
                        finished_at=None,
                        output_path=output_path,
                    )
                )
                return False
            if run.input_sha256 != input_sha256:
                raise RunError(
                    f"run {self.run_id!r} was started on different input ({run.input_path}); "
                    "use another --run-id for new input"
                )
            if run.schema_sha256 != schema_sha256:
                raise RunError(
                    f"run {self.run_id!r} was started with a different schema "
                    f"({run.schema_path}); use another --run-id"
                )
            run.status = "running"
            if output_path is not None:
                run.output_path = output_path
            return True

    def done_seqs(self) -> set[int]:
        with self.db.read() as session:
            rows = session.scalars(select(RunProduct.seq).where(RunProduct.run_id == self.run_id))
            return set(rows)

    def save(
        self,
        *,
        seq: int,
        product_id: str,
        category: str | None,
        output: dict[str, Any],
        disputed: int,
        supervisor_called: bool,
        calls: list[dict[str, Any]],
        supervisor: dict[str, Any] | None = None,
        within: Callable[[Session], None] | None = None,
    ) -> None:
        """Store one finished product and its model calls atomically.

        ``within`` adds more writes to the same transaction (the record's review item).
        """
        input_tokens = sum(c["input_tokens"] for c in calls)
        output_tokens = sum(c["output_tokens"] for c in calls)
        with self.db.write() as session:
            session.add(
                RunProduct(
                    run_id=self.run_id,
                    seq=seq,
                    product_id=product_id,
                    category=category,
                    output=output,
                    disputed_attributes=disputed,
                    supervisor_called=supervisor_called,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    supervisor=supervisor,
                )
            )
            for call in calls:
                session.add(ModelCallRow(run_id=self.run_id, product_id=product_id, **call))
            if within is not None:
                within(session)

    def outputs(self, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Stored outputs in input order from ``start``."""
        with self.db.read() as session:
            rows = session.execute(
                select(RunProduct.seq, RunProduct.output)
                .where(RunProduct.run_id == self.run_id, RunProduct.seq >= start)
                .order_by(RunProduct.seq)
            )
            yield from ((int(seq), dict(out)) for seq, out in rows)

    def rows(self) -> list[RunProduct]:
        with self.db.read() as session:
            rows = list(
                session.scalars(
                    select(RunProduct)
                    .where(RunProduct.run_id == self.run_id)
                    .order_by(RunProduct.seq)
                )
            )
            # Detach before the read session rolls back, so the rows stay readable.
            session.expunge_all()
            return rows

    def call_totals(self) -> tuple[int, int, int]:
        """(model requests, input tokens, output tokens) spent by the run so far."""
        with self.db.read() as session:
            row = session.execute(
                select(
                    func.coalesce(func.sum(ModelCallRow.requests), 0),
                    func.coalesce(func.sum(ModelCallRow.input_tokens), 0),
                    func.coalesce(func.sum(ModelCallRow.output_tokens), 0),
                ).where(ModelCallRow.run_id == self.run_id)
            ).one()
            return int(row[0]), int(row[1]), int(row[2])

    def finish(self, status: str, summary: dict[str, Any] | None) -> None:
        with self.db.write() as session:
            run = session.get(Run, self.run_id)
            if run is None:
                return
            run.status = status
            run.summary = summary
            run.finished_at = utcnow() if status == "completed" else None
