"""Reading labelled product data (OA-Mine as prepared by ExtractGPT) into inputs and gold labels.

A record is one JSON object per line: the text as ``input``, or as ``title`` plus an optional
``description``; an optional ``id``; ``category``; and ``target_scores``, mapping each attribute
to its correct values (``{"Brand": {"Diesel": 1}}``; several values mean any one is correct, and
``"n/a"`` means the attribute is not present). The loader splits each record into the part a run
may see (:class:`ProductText`) and the part only the scorer may see (:class:`GoldLabels`), so that
gold values cannot reach a pipeline by accident.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dissensus.errors import InputError

__all__ = [
    "DATA_ENV",
    "NA",
    "GoldLabels",
    "LabelledRecord",
    "ProductText",
    "default_data_dir",
    "file_sha256",
    "load_split",
]

NA = "n/a"
"""The gold value that means "the attribute is not present in the text"."""

DATA_ENV = "DISSENSUS_BENCH_DATA"
"""Environment variable naming the data directory (overrides the default location)."""


def default_data_dir() -> Path:
    """Where the OA-Mine files are looked for: ``$DISSENSUS_BENCH_DATA``, else ``../shared/...``.

    The relative default is resolved against the repository root (three levels above this
    package in a source checkout) and falls back to the working directory's parent.
    """
    if env := os.environ.get(DATA_ENV):
        return Path(env).expanduser()
    relative = Path("..") / "shared" / "datasets" / "oa-mine"
    repo = Path(__file__).resolve().parents[3]
    candidate = (repo / relative).resolve()
    if (repo / "pyproject.toml").exists() and candidate.exists():
        return candidate
    return (Path.cwd() / relative).resolve()


class ProductText(BaseModel):
    """What a run may see of a labelled record: its id, text and category, never its labels."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str | None = None
    category: str

    def as_input(self) -> dict[str, str]:
        """The record as a ``dissensus run`` input line."""
        record = {"id": self.id, "title": self.title, "category": self.category}
        if self.description:
            record["description"] = self.description
        return record


class GoldLabels(BaseModel):
    """The labels of one record, for the scorer only.

    ``values`` keeps each attribute's gold values exactly as written, in file order, including
    ``"n/a"``: the published protocol strips gold values only after comparing them with
    ``"n/a"`` and reads presence from the first value alone.
    """

    model_config = ConfigDict(frozen=True)

    category: str
    values: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def first_present(self, attribute: str) -> str | None:
        """The first gold value of ``attribute`` stripped, or None if absent or ``"n/a"``."""
        raw = self.values.get(attribute)
        if not raw or raw[0] == NA:
            return None
        return raw[0].strip()


class LabelledRecord(BaseModel):
    """One line of a labelled split: the visible product and its gold labels, kept apart."""

    model_config = ConfigDict(frozen=True)

    product: ProductText
    gold: GoldLabels
    line: int
    """1-based line number in its file (for messages)."""


def file_sha256(path: Path) -> str:
    """Content hash of a data file, recorded in the results so a run names its exact data."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _values(raw: Any, where: str, attribute: str) -> tuple[str, ...]:
    if isinstance(raw, dict):
        values = list(raw.keys())
    elif isinstance(raw, list):
        values = raw
    elif isinstance(raw, str):
        values = [raw]
    else:
        raise InputError(
            f"{where}: target_scores[{attribute!r}] must map values to scores "
            f'({{"value": 1}}), got {type(raw).__name__}; fix the record'
        )
    if not values or not all(isinstance(v, str) for v in values):
        raise InputError(
            f"{where}: target_scores[{attribute!r}] needs at least one string value "
            '(use "n/a" for an absent attribute); fix the record'
        )
    return tuple(values)


def _record(raw: Any, *, split: str, path: Path, line: int) -> LabelledRecord:
    where = f"{path} line {line}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a JSON object; fix or remove the line")
    text = raw.get("input", raw.get("title"))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: needs the product text as 'input' or 'title' (a string)")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise InputError(f"{where}: 'description' must be a string when present")
    category = raw.get("category")
    if not isinstance(category, str) or not category.strip():
        raise InputError(f"{where}: needs a 'category' string")
    targets = raw.get("target_scores", {})
    if not isinstance(targets, dict):
        raise InputError(f"{where}: 'target_scores' must be an object of attribute -> values")
    rid = raw.get("id")
    if rid is None:
        rid = f"{split}-{line:05d}"
    elif not isinstance(rid, str | int) or isinstance(rid, bool) or not str(rid).strip():
        raise InputError(f"{where}: 'id' must be a non-empty string or integer when present")
    category = category.strip()
    return LabelledRecord(
        product=ProductText(
            id=str(rid).strip(),
            title=text.strip(),
            description=(description or "").strip() or None,
            category=category,
        ),
        gold=GoldLabels(
            category=category,
            values={str(a): _values(v, where, str(a)) for a, v in targets.items()},
        ),
        line=line,
    )


def load_split(path: Path, *, split: str | None = None) -> list[LabelledRecord]:
    """Read one labelled JSONL file.

    Args:
        path: The file (``test.jsonl``).
        split: Prefix for generated ids (default: the file's stem).

    Raises:
        InputError: the file is missing or a line is not a valid labelled record; the message
            names the file, the line and what to fix.
    """
    if not path.exists():
        raise InputError(
            f"data file {str(path)!r} does not exist; pass --data DIR (or set {DATA_ENV}) to "
            "the directory holding train.jsonl, train_0.2.jsonl and test.jsonl"
        )
    name = split or path.stem
    records: list[LabelledRecord] = []
    with path.open(encoding="utf-8") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {line}: not valid JSON ({exc.msg})") from exc
            records.append(_record(raw, split=name, path=path, line=line))
    ids = [r.product.id for r in records]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"{path}: id {dup!r} appears more than once; ids must be unique")
    return records
