"""Signal records as they arrive: one seller edit, appeal, return or review per line."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from dissensus.errors import InputError

__all__ = ["SignalKind", "SignalRecord", "read_signals"]

SignalKind = Literal["seller_edit", "appeal", "return", "review"]
"""Seller listing edit, seller appeal of a published value, customer return, customer review."""

MAX_SIGNAL_TEXT = 2000
"""Longer texts are cut: a signal is evidence, not a document."""


class SignalRecord(BaseModel):
    """One signal about one product; the text is untrusted seller or customer input."""

    kind: SignalKind
    product_id: str = Field(min_length=1)
    attribute: str | None = None
    """Seller edits and appeals name it; returns and reviews usually do not."""
    old_value: str | None = None
    new_value: str | None = None
    """What the seller says the value is (``None``: absent)."""
    rating: int | None = Field(default=None, ge=1, le=5)
    text: str = ""
    author: str | None = Field(default=None, max_length=200)
    """Who sent it (a seller or customer id): confirmations count distinct authors, so one
    seller writing about many products is one voice. ``None``: unknown, which confirms nothing."""

    @field_validator("text")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return value[:MAX_SIGNAL_TEXT]

    @field_validator("attribute", "old_value", "new_value", "author", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def digest(self) -> str:
        """Content hash: the same signal ingested twice is stored once."""
        # Without an author the hash is what it was before signals had one.
        unset = {"author"} if self.author is None else None
        return hashlib.sha256(self.model_dump_json(exclude=unset).encode()).hexdigest()


def read_signals(path: Path) -> Iterator[SignalRecord]:
    """Read a JSONL or CSV signals file; a bad line raises :class:`InputError` naming it."""
    if not path.exists():
        raise InputError(f"signals file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows: Iterator[tuple[int, Any]] = (
                (n, {k: v for k, v in row.items() if k is not None and v != ""})
                for n, row in enumerate(csv.DictReader(fh), 2)
            )
            yield from _validated(path, rows)
        return
    if suffix not in {".jsonl", ".ndjson", ".json"}:
        raise InputError(f"signals file {str(path)!r}: unknown format {suffix!r}; use .jsonl/.csv")
    with path.open(encoding="utf-8") as fh:
        yield from _validated(path, _json_lines(path, fh))


def _json_lines(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc


def _validated(path: Path, rows: Iterator[tuple[int, Any]]) -> Iterator[SignalRecord]:
    for n, raw in rows:
        try:
            yield SignalRecord.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise InputError(
                f"{path}:{n}: {where}: {first['msg']} (a signal needs kind, product_id and, "
                "for seller edits, attribute and new_value)"
            ) from exc
