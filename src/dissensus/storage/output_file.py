"""A run's output file: the contiguous, in-order prefix of its stored records, a JSON line each.

The runner extends it as products finish and a review rewrites it after changing a record; both
write it here, so the two can never disagree about what the file holds (a record after a gap is
not in the file until the gap is filled, and a rewrite replaces the file atomically).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

__all__ = ["append_prefix", "rewrite_prefix"]


def append_prefix(fh: IO[str], rows: Iterable[tuple[int, dict[str, Any]]], start: int) -> int:
    """Write ``rows`` (seq, output; in seq order, from ``start``) while they have no gap.

    Returns the next seq the file is waiting for.
    """
    expected = start
    for seq, output in rows:
        if seq != expected:
            break  # a gap: later records are not in the file yet either
        fh.write(json.dumps(output, ensure_ascii=False) + "\n")
        expected += 1
    return expected


def rewrite_prefix(path: Path, rows: Iterable[tuple[int, dict[str, Any]]]) -> int:
    """Replace ``path`` with the prefix of ``rows`` from seq 0; returns how many lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        lines = append_prefix(fh, rows, 0)
    tmp.replace(path)
    return lines
