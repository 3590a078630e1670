"""Run state in the database: which products are done, their outputs, their model calls.

A product's output and its model calls are committed in one transaction, so a run killed at any
point resumes with every product either fully done or not started.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dissensus.errors import RunError
from dissensus.storage import Database
from dissensus.storage.tables import ModelCall as ModelCallRow
from dissensus.storage.tables import Run, RunProduct, utcnow

__all__ = ["HEARTBEAT_SECONDS", "LEASE", "RunOwner", "RunStore", "StoredProduct"]

StoredProduct = RunProduct

HEARTBEAT_SECONDS = 20.0
"""How often a running process tells the database it is alive."""
LEASE = timedelta(seconds=90)
"""A run whose owner has been silent this long may be taken over (its process is gone)."""


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process that runs a run: what ``runs.owner`` holds while it runs.

    Two processes on one run id would both write its products (the second crashed on the first's
    rows); the owner and its heartbeat let the second refuse with a message instead, while a run
    whose process was killed stays resumable: at once on the same host (its pid is gone), after
    :data:`LEASE` of silence elsewhere.
    """

    host: str
    pid: int
    token: str

    @classmethod
    def current(cls) -> RunOwner:
        return cls(socket.gethostname()[:120], os.getpid(), secrets.token_hex(6))

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> RunOwner | None:
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])


def _alive(owner: RunOwner) -> bool:
    """Whether ``owner``'s process may still run: certain only for a pid on this host."""
    if owner.host != socket.gethostname()[:120]:
        return True
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(run: Run, me: RunOwner, now: datetime) -> str | None:
    """Who else holds ``run`` right now, described for a message; ``None``: nobody alive."""
    if run.status != "running" or not run.owner or run.owner == str(me):
        return None
    other = RunOwner.parse(run.owner)
    beat = run.heartbeat_at
    if other is None or beat is None or now - beat > LEASE or not _alive(other):
        return None
    ago = max(0, int((now - beat).total_seconds()))
    return f"process {other.pid} on {other.host} (last heartbeat {ago} s ago)"


def run_state(run: Run, now: datetime | None = None) -> str:
    """What a run is doing, for people: its status, or ``stopped`` for a ``running`` run whose
    process is gone (killed, or failed before its end: a model without an API key). Such a run
    once showed as running forever; it resumes with its run id."""
    if run.status != "running":
        return run.status
    held = _holder(run, RunOwner.current(), now or utcnow()) is not None
    return "running" if held else "stopped"


class RunStore:
    """Reads and writes one run's rows."""

    def __init__(self, db: Database, run_id: str) -> None:
        self.db = db
        self.run_id = run_id
        self.owner: RunOwner | None = None

    def open(
        self,
        *,
        input_path: str,
        input_sha256: str,
        schema_path: str,
        schema_sha256: str,
        config: dict[str, Any],
        output_path: str | None = None,
        owner: RunOwner | None = None,
    ) -> bool:
        """Create the run, or check that a resumed one reads the same files; True if resumed.

        ``owner`` takes the run for this process; a run another live process holds is refused
        (:class:`~dissensus.errors.RunError`), one whose process died is taken over.
        """
        me = owner or RunOwner.current()
        self.owner = me
        try:
            return self._open(
                input_path, input_sha256, schema_path, schema_sha256, config, output_path, me
            )
        except IntegrityError:
            # Two processes created the same new run id at the same moment; this one lost.
            raise RunError(
                f"run {self.run_id!r} was just started by another process; "
                "wait for it or use another --run-id"
            ) from None

    def _open(
        self,
        input_path: str,
        input_sha256: str,
        schema_path: str,
        schema_sha256: str,
        config: dict[str, Any],
        output_path: str | None,
        me: RunOwner,
    ) -> bool:
        now = utcnow()
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
                        owner=str(me),
                        heartbeat_at=now,
                    )
                )
                return False
            holder = _holder(run, me, now)
            if holder is not None:
                raise RunError(
                    f"run {self.run_id!r} is running in {holder}; wait for it to end, or use "
                    f"another --run-id (a run whose process died can be resumed "
                    f"{int(LEASE.total_seconds())} s after its last heartbeat)"
                )
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
            run.owner = str(me)
            run.heartbeat_at = now
            if output_path is not None:
                run.output_path = output_path
            return True

    def heartbeat(self) -> None:
        """Say this process still runs the run (only while it is the owner)."""
        with self.db.write() as session:
            session.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.owner == str(self.owner))
                .values(heartbeat_at=utcnow())
            )

    def release(self) -> None:
        """Give the run up (it ended, or failed cleanly): a resume may start at once."""
        with self.db.write() as session:
            session.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.owner == str(self.owner))
                .values(owner=None, heartbeat_at=None)
            )

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
    ) -> bool:
        """Store one finished product and its model calls atomically; ``False`` when the
        product was already stored under this run (the first commit stands).

        ``within`` adds more writes to the same transaction (the record's review item).
        """
        input_tokens = sum(c["input_tokens"] for c in calls)
        output_tokens = sum(c["output_tokens"] for c in calls)
        try:
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
                    session.add(
                        ModelCallRow(run_id=self.run_id, product_id=product_id, seq=seq, **call)
                    )
                if within is not None:
                    within(session)
        except IntegrityError:
            # Another attempt at the same product (a retried Ray task) committed it first: the
            # first commit stands, and this one's calls and review item roll back with it.
            if seq in self.done_seqs():
                return False
            raise
        return True

    def record(self, seq: int) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """One stored record's output and supervisor answer, or ``None``."""
        with self.db.read() as session:
            row = session.execute(
                select(RunProduct.output, RunProduct.supervisor).where(
                    RunProduct.run_id == self.run_id, RunProduct.seq == seq
                )
            ).first()
            return (row[0], row[1]) if row is not None else None

    def elsewhere(self, product_id: str) -> list[tuple[str, int]]:
        """(run id, seq) of the same product in the other runs, in the order they finished.

        One read for the record page and the API, so both link the same earlier results.
        """
        with self.db.read() as session:
            rows = session.execute(
                select(RunProduct.run_id, RunProduct.seq)
                .where(RunProduct.product_id == product_id, RunProduct.run_id != self.run_id)
                .order_by(RunProduct.finished_at)
            ).all()
            return [(str(run_id), int(seq)) for run_id, seq in rows]

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
