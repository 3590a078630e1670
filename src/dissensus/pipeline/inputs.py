"""Reading catalogs: JSONL or CSV, streamed, with bad records reported instead of raised."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dissensus.domain import Product
from dissensus.errors import InputError, RecordError

__all__ = ["InputRecord", "count_records", "file_sha256", "read_records"]


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One input position: a valid product, or the error that keeps it out of the run."""

    seq: int
    """0-based position among the input's records; the output keeps this order."""
    product: Product | None
    error: str | None = None
    raw_id: str | None = None
    """The record's id when it had one, so that an error line can still name it."""


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InputError(f"input {str(path)!r}: unknown format {suffix!r}; use .jsonl or .csv")


def _require(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")


def _raw_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, raw record); undecodable JSON lines yield the error instead."""
    if _format(path) == "csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for n, row in enumerate(csv.DictReader(fh), 2):
                yield n, {k: (v if v != "" else None) for k, v in row.items() if k is not None}
        return
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, RecordError(f"record at line {n}: not valid JSON ({exc.msg})")


def read_records(path: Path) -> Iterator[InputRecord]:
    """Stream the input as validated records, in order; never raises for one bad record."""
    _require(path)
    for seq, (line, raw) in enumerate(_raw_records(path)):
        if isinstance(raw, RecordError):
            yield InputRecord(seq, None, str(raw))
            continue
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            yield InputRecord(seq, Product.from_record(raw, line=line))
        except RecordError as exc:
            yield InputRecord(seq, None, str(exc), str(raw_id) if raw_id is not None else None)


def count_records(path: Path) -> int:
    """How many records the input holds (for the progress bar's total)."""
    _require(path)
    return sum(1 for _ in _raw_records(path))


def file_sha256(path: Path) -> str:
    """Content hash; a resumed run must read the same input it started with."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
