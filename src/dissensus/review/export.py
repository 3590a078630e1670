"""Rewrite a run's output file from its stored records, so reviewed values reach the file.

The stored records (``run_products.output``) are the source of truth: a submitted review updates
them, and this writes them out again the way the runner does — one line per record in input
order, only the contiguous prefix of finished records, replaced atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select

from dissensus.errors import ReviewError, UnknownRunError
from dissensus.storage import Database
from dissensus.storage.output_file import rewrite_prefix
from dissensus.storage.tables import Run, RunProduct

__all__ = ["OutputRefresh", "output_path_of", "refresh_output", "run_is_active", "write_run_output"]


def output_path_of(db: Database, run_id: str) -> Path | None:
    """Where the run wrote its output file (``None`` for runs from before it was recorded).

    Raises:
        ReviewError: There is no such run.
    """
    with db.read() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise UnknownRunError(f"there is no run {run_id!r}; see `dissensus runs list`")
        return Path(run.output_path) if run.output_path else None


def run_is_active(db: Database, run_id: str) -> bool:
    """Whether the run is still ``running`` (its runner appends to the output file)."""
    with db.read() as session:
        run = session.get(Run, run_id)
        return run is not None and run.status == "running"


def write_run_output(db: Database, run_id: str, path: Path | None = None) -> tuple[Path, int]:
    """Write the run's stored records to ``path`` (default: the run's own output file).

    Returns:
        The file written and how many lines it holds.

    Raises:
        ReviewError: The run is unknown, or no path is given and none is recorded.
    """
    target = path or output_path_of(db, run_id)
    if target is None:
        raise ReviewError(
            f"run {run_id!r} has no recorded output file; pass --out FILE to write one"
        )
    if path is not None:
        output_path_of(db, run_id)  # the run must exist
    with db.read() as session:
        rows = session.execute(
            select(RunProduct.seq, RunProduct.output)
            .where(RunProduct.run_id == run_id)
            .order_by(RunProduct.seq)
        )
        lines = rewrite_prefix(target, ((seq, output) for seq, output in rows))
    return target, lines


class OutputRefresh(BaseModel):
    """What became of a run's output file after a review changed its records."""

    run_id: str
    outcome: Literal["rewritten", "no-output-file", "running"]
    path: str | None = None
    lines: int = 0

    def describe(self, *, show_path: bool = True) -> str:
        """One sentence for a person (the CLI's and the web app's message)."""
        if self.outcome == "rewritten":
            where = str(self.path) if show_path else "the run's output file"
            return f"Rewrote {where} ({self.lines} records)."
        if self.outcome == "no-output-file":
            return (
                f"Run {self.run_id} has no recorded output file; write one with "
                f"`dissensus review export {self.run_id} --out FILE`."
            )
        return (
            f"Run {self.run_id} is still running; its output file is rewritten when it resumes, "
            f"or run `dissensus review export {self.run_id}` after it ends."
        )


def refresh_output(db: Database, run_id: str) -> OutputRefresh:
    """After a submitted review: rewrite the run's output file when it has one and is not running.

    The one "submit, then bring the file up to date" step the CLI, the web app and the API share.

    Raises:
        ReviewError: There is no such run.
    """
    path = output_path_of(db, run_id)
    if path is None:
        return OutputRefresh(run_id=run_id, outcome="no-output-file")
    if run_is_active(db, run_id):
        return OutputRefresh(run_id=run_id, outcome="running")
    written, lines = write_run_output(db, run_id)
    return OutputRefresh(run_id=run_id, outcome="rewritten", path=str(written), lines=lines)
