"""Finished passes of an extraction benchmark, saved as they end, so a run can be resumed or
continued by a later invocation.

A medium run (400 stream products, 200 test records) is about 1,200 product passes, hours on a
two-core machine; losing them all to a killed process, or having to fit them into one sitting,
is what this module prevents. Every evaluation pass (each checkpoint, ``single``,
``supervisor-only``) writes ``OUT/passes/NAME.json`` the moment it ends: its scores, its
statistics, its predictions per evaluation record, and the *basis* it ran on (data file hashes,
seed, limits, the evaluation records, the pipeline settings, the dissensus version).

``bench extraction --reuse DIR`` loads DIR's saved passes instead of running them again, but only
when their basis equals this run's, field by field: a pass made on other data, another seed or
other settings is refused with the fields that differ, never silently mixed in. ``--reuse`` of
the run's own ``--out`` resumes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from dissensus.bench.results import ArmResult, CheckpointResult, PassStats, WindowStats
from dissensus.errors import InputError

__all__ = ["PASSES_DIR", "SavedPass", "checkpoint_pass", "load_passes", "pass_basis"]

PASSES_DIR = "passes"
"""Where a run keeps its finished passes, under its ``--out``."""


def checkpoint_pass(after: int) -> str:
    """The saved name of the learning arm's evaluation after ``after`` stream products."""
    return f"checkpoint-{after:04d}"


def pass_basis(
    *,
    data: Mapping[str, str],
    seed: int,
    stream_limit: int | None,
    eval_limit: int | None,
    eval_ids: Sequence[str],
    settings: Mapping[str, object],
    version: str,
) -> dict[str, object]:
    """What a pass's results depend on; two passes are interchangeable only if these are equal.

    The evaluation records are kept as a hash (their order matters: predictions are saved in
    it); ``threads`` and the number of passes are left out, as they change speed, not answers.
    """
    ids = hashlib.sha256("\n".join(eval_ids).encode("utf-8")).hexdigest()
    return {
        "data": dict(sorted(data.items())),
        "seed": seed,
        "stream_limit": stream_limit,
        "eval_limit": eval_limit,
        "evaluation_records": ids,
        "settings": json.loads(json.dumps(settings, sort_keys=True, default=str)),
        "dissensus_version": version,
    }


class SavedPass(BaseModel):
    """One finished evaluation pass: enough to report it and to pair it with other arms."""

    name: str
    """``checkpoint-NNNN``, ``single`` or ``supervisor-only``."""
    basis: dict[str, object]
    run_started_at: str
    """When the run that made it started (shown in the report of a run that reuses it)."""
    wall_seconds: float
    eval_ids: list[str]
    predictions: list[dict[str, str | None]]
    """The pass's published values per evaluation record, in evaluation order."""
    generator: list[dict[str, str | None]] = Field(default_factory=list)
    """A checkpoint's generator-a raw values (the ``few-shot`` arm at checkpoint 0)."""
    checkpoint: CheckpointResult | None = None
    generator_stats: PassStats | None = None
    """A checkpoint's generator-a share of the cost (the ``few-shot`` arm's statistics)."""
    stream: PassStats | None = None
    """A checkpoint's stream statistics up to it (the stream that made its knowledge base)."""
    windows: list[WindowStats] = Field(default_factory=list)
    arm: ArmResult | None = None
    """``single`` and ``supervisor-only``: the arm as the run reported it."""

    def write(self, out_dir: Path) -> Path:
        folder = out_dir / PASSES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=1), "utf-8")
        tmp.replace(path)  # a kill mid-write leaves the previous file, never half of one
        return path


def load_passes(
    dirs: Sequence[str | Path], basis: Mapping[str, object], eval_ids: Sequence[str]
) -> dict[str, tuple[SavedPass, Path]]:
    """The saved passes of ``dirs`` by name (a later directory wins a name), checked against
    this run's ``basis``.

    Raises:
        InputError: a directory has no saved passes, a file is not a saved pass, or a pass ran
            on another basis (the message names the fields that differ).
    """
    found: dict[str, tuple[SavedPass, Path]] = {}
    for raw in dirs:
        folder = Path(raw) / PASSES_DIR
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            raise InputError(
                f"--reuse {raw}: no saved passes in {folder} (a benchmark run writes them "
                "there as each evaluation pass ends)"
            )
        for path in files:
            try:
                saved = SavedPass.model_validate_json(path.read_text("utf-8"))
            except (ValidationError, ValueError) as exc:
                raise InputError(f"--reuse {raw}: {path} is not a saved pass: {exc}") from exc
            differ = sorted(k for k in {*basis, *saved.basis} if basis.get(k) != saved.basis.get(k))
            if differ:
                raise InputError(
                    f"--reuse {raw}: {path.name} ran on a different basis ({', '.join(differ)} "
                    "differ); it cannot be compared with this run. Rerun it, or run this one "
                    "with the same data, seed, limits and settings"
                )
            if saved.eval_ids != list(eval_ids):
                raise InputError(f"--reuse {raw}: {path.name} scored other evaluation records")
            found[saved.name] = (saved, path)
    return found
