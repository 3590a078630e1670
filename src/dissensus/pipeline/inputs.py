"""Reading catalogs: JSONL, CSV or Parquet, streamed, with bad records reported, not raised."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dissensus.domain import Product
from dissensus.errors import InputError, MissingExtraError, RecordError

__all__ = ["InputRecord", "count_records", "file_sha256", "read_records", "refuse_overwrite"]


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
    if suffix == ".parquet":
        return "parquet"
    raise InputError(
        f"input {str(path)!r}: unknown format {suffix!r}; use .jsonl, .csv or .parquet"
    )


def refuse_overwrite(out: Path, sources: Iterable[Path | None]) -> None:
    """Refuse an output path that is one of the run's own files.

    The output is opened for writing before the input is read, so ``run same.jsonl --out
    same.jsonl`` once emptied the input and reported "0 products, 0 errors".
    """
    for source in sources:
        if source is not None and _same_file(out, source):
            raise InputError(
                f"the output {str(out)!r} is the run's own file {str(source)!r}; writing it "
                "would destroy it: choose another --out"
            )


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _require(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")


def _bad_bytes(text: str) -> bool:
    """Whether text decoded with ``surrogateescape`` held bytes that are not UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _raw_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, raw record); a line that cannot be decoded yields the error instead.

    Bytes that are not UTF-8 spoil only their own record. A byte-order mark (Excel writes one
    into CSV files) is skipped rather than read into the first column's name.
    """
    kind = _format(path)
    if kind == "parquet":
        yield from _parquet_records(path)
        return
    if kind == "csv":
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
            for n, row in enumerate(csv.DictReader(fh), 2):
                cells = [*(k for k in row if k is not None), *(v for v in row.values() if v)]
                if any(isinstance(c, str) and _bad_bytes(c) for c in cells):
                    yield n, RecordError(f"record at line {n}: not valid UTF-8")
                    continue
                yield n, {k: (v if v != "" else None) for k, v in row.items() if k is not None}
        return
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield n, RecordError(f"record at line {n}: not valid UTF-8 (byte {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, RecordError(f"record at line {n}: not valid JSON ({exc.msg})")


def _parquet_records(path: Path) -> Iterator[tuple[int, object]]:
    """Rows of a Parquet file as records, numbered from 1 like lines, read in batches."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingExtraError("parquet", "reading Parquet input") from exc
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError...
        raise InputError(f"input {str(path)!r} is not a readable Parquet file: {exc}") from exc
    n = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            n += 1
            yield n, {k: v for k, v in row.items() if v is not None}


def read_records(path: Path) -> Iterator[InputRecord]:
    """Stream the input as validated records, in order; never raises for one bad record."""
    _require(path)
    first_line: dict[str, int] = {}
    for seq, (line, raw) in enumerate(_raw_records(path)):
        if isinstance(raw, RecordError):
            yield InputRecord(seq, None, str(raw))
            continue
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            product = Product.from_record(raw, line=line)
        except RecordError as exc:
            yield InputRecord(seq, None, str(exc), str(raw_id) if raw_id is not None else None)
            continue
        if product.id in first_line:
            # Two records with one id would be two outputs nobody can tell apart.
            yield InputRecord(
                seq,
                None,
                f"record at line {line}: duplicate id {product.id!r} (first at line "
                f"{first_line[product.id]}); ids must be unique within an input",
                product.id,
            )
            continue
        first_line[product.id] = line
        yield InputRecord(seq, product)


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
