"""Judging a run's output against hand labels: the share of attribute values a person accepts.

For small labelled samples of one's own (``examples/unseen/``), where the published protocol's
rules (only labelled attributes count, exact case) would flatter or punish the wrong things: every
labelled attribute is scored, and a value is right when it equals one of the accepted values
after case, spacing and punctuation are ignored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from dissensus.errors import InputError

__all__ = ["Judgement", "judge", "same_value"]

_NOISE = re.compile(r"[^0-9a-z#]+")


def _norm(value: str) -> str:
    return _NOISE.sub(" ", value.casefold()).strip()


def same_value(predicted: str | None, accepted: list[str | None]) -> bool:
    """Whether ``predicted`` is one of ``accepted`` (``None`` in it: absence is right)."""
    if predicted is None or not predicted.strip():
        return any(a is None for a in accepted)
    return any(a is not None and _norm(a) == _norm(predicted) for a in accepted)


class _Labels(BaseModel):
    id: str
    attributes: dict[str, list[str | None]] = Field(default_factory=dict)


class Judgement(BaseModel):
    """How many labelled values a run got right, overall and per attribute."""

    records: int = 0
    slots: int = 0
    right: int = 0
    missing_records: list[str] = Field(default_factory=list)
    """Labelled ids with no output line (or an error line): every slot of theirs is wrong."""
    by_attribute: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Attribute to (right, slots)."""
    wrong: list[tuple[str, str, str | None, list[str | None]]] = Field(default_factory=list)
    """(id, attribute, predicted, accepted) of every wrong slot."""

    @property
    def accuracy(self) -> float:
        return self.right / self.slots if self.slots else 0.0


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{str(path)!r} line {n} is not JSON: {exc}") from exc
    return rows


def judge(output: Path, labels: Path) -> Judgement:
    """Score a ``dissensus run`` output file against a labels file (JSONL ``{id, attributes}``)."""
    predicted: dict[str, dict[str, str | None]] = {}
    for row in _lines(output):
        attrs = row.get("attributes") or {}
        if row.get("error") or not isinstance(attrs, dict):
            continue
        predicted[str(row.get("id"))] = {k: v.get("value") for k, v in attrs.items()}
    result = Judgement()
    for raw in _lines(labels):
        try:
            label = _Labels.model_validate(raw)
        except ValidationError as exc:
            raise InputError(f"{str(labels)!r}: a label line is malformed: {exc}") from exc
        result.records += 1
        values = predicted.get(label.id)
        if values is None:
            result.missing_records.append(label.id)
            values = {}
        for attribute, accepted in label.attributes.items():
            ok = same_value(values.get(attribute), accepted)
            right, slots = result.by_attribute.get(attribute, (0, 0))
            result.by_attribute[attribute] = (right + ok, slots + 1)
            result.slots += 1
            result.right += ok
            if not ok:
                result.wrong.append((label.id, attribute, values.get(attribute), accepted))
    return result
