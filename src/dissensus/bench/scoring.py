"""Scoring extractions against gold labels: the ExtractGPT protocol and a strict variant.

The ``published`` variant re-implements the multi-attribute evaluation of the ExtractGPT study
(Brinkmann, Shraga, Bizer, arXiv:2310.12537; ``pieutils/evaluation.py`` of
github.com/wbsg-uni-mannheim/ExtractGPT, commit 3f96461b), so that our micro-F1 compares with the
published numbers on OA-Mine. Per record and attribute (a "slot"):

- only attributes listed in the record's ``target_scores`` are scored; an attribute the record
  does not list is skipped, whatever was predicted for it;
- gold values are compared with ``"n/a"`` first, then ``.strip()``-ped; the attribute counts as
  absent when its *first* gold value is ``"n/a"``;
- the prediction is not stripped and the match is exact and case-sensitive; a prediction of
  ``None`` (missing), ``"n/a"`` or ``"None"`` is "no value";
- each slot is one of NN (no gold, no prediction), NV (no gold, a prediction), VN (gold, no
  prediction), VC (prediction equals one of the gold values), VW (another prediction);
- P = VC / (NV + VC + VW), R = VC / (VN + VC + VW), both in percent rounded to 2 decimals, and
  F1 = 2PR / (P + R) from the rounded P and R, rounded to 2 decimals (0 when a denominator is 0);
- micro scores sum the counts of every (category, attribute) pair; macro scores average the
  pairs' rounded scores, leaving out pairs with only NN slots.

The ``strict`` variant counts every schema attribute of the record's category (plus any the
record lists): an attribute the record does not list is taken as ``"n/a"``, so a value invented
for it is an NV (a false positive). Everything else is as above. Strict numbers are not
comparable with published ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from dissensus.bench.loader import NA, GoldLabels

__all__ = [
    "MacroScores",
    "Prediction",
    "Scores",
    "SlotCounts",
    "SlotScores",
    "Variant",
    "classify",
    "score",
    "slot_scores",
]

Variant = Literal["published", "strict"]
Prediction = Mapping[str, str | None]
"""Predicted value per attribute of one record; a missing key means no value."""

_NO_VALUE = (None, NA, "None")
"""Predictions the protocol reads as "no value"."""

SlotKind = Literal["nn", "nv", "vn", "vc", "vw"]


class SlotCounts(BaseModel):
    """How many slots fell into each outcome of the protocol."""

    nn: int = 0
    """No gold value, no prediction."""
    nv: int = 0
    """No gold value, but a prediction (a false positive)."""
    vn: int = 0
    """A gold value, no prediction."""
    vc: int = 0
    """A gold value and a correct prediction."""
    vw: int = 0
    """A gold value and a wrong prediction."""

    def __add__(self, other: SlotCounts) -> SlotCounts:
        return SlotCounts(
            nn=self.nn + other.nn,
            nv=self.nv + other.nv,
            vn=self.vn + other.vn,
            vc=self.vc + other.vc,
            vw=self.vw + other.vw,
        )

    def add(self, kind: SlotKind) -> None:
        """Count one slot."""
        setattr(self, kind, getattr(self, kind) + 1)

    @property
    def scored(self) -> int:
        """Slots that enter precision or recall (everything but NN)."""
        return self.nv + self.vn + self.vc + self.vw


class SlotScores(BaseModel):
    """Precision, recall and F1 in percent (protocol rounding) with the counts behind them."""

    precision: float
    recall: float
    f1: float
    counts: SlotCounts


class MacroScores(BaseModel):
    """Means of the per-(category, attribute) scores."""

    precision: float
    recall: float
    f1: float
    pairs: int
    """(category, attribute) pairs averaged (pairs with only NN slots are left out)."""


class Scores(BaseModel):
    """One variant's scores of one set of predictions: overall, per category, per attribute."""

    variant: Variant
    records: int
    micro: SlotScores
    macro: MacroScores
    by_category: dict[str, SlotScores] = Field(default_factory=dict)
    """Micro scores over the category's attributes."""
    by_attribute: dict[str, SlotScores] = Field(default_factory=dict)
    """Micro scores of an attribute name over every category that has it."""
    by_pair: dict[str, dict[str, SlotScores]] = Field(default_factory=dict)
    """Category -> attribute -> scores (the pairs the macro scores average)."""


def classify(gold: Sequence[str] | None, prediction: str | None) -> SlotKind:
    """The protocol's outcome for one slot.

    Args:
        gold: The slot's gold values as written (``None`` or empty: absent, as ``["n/a"]``).
        prediction: The predicted value, unstripped.
    """
    targets = [None if v == NA else v.strip() for v in gold] if gold else [None]
    predicted = None if prediction in _NO_VALUE else prediction
    if targets[0] is None:
        return "nn" if predicted is None else "nv"
    if predicted is None:
        return "vn"
    return "vc" if predicted in targets else "vw"


def slot_scores(counts: SlotCounts) -> SlotScores:
    """Precision, recall and F1 from counts, rounded exactly as the published protocol does."""
    predicted = counts.nv + counts.vc + counts.vw
    labelled = counts.vn + counts.vc + counts.vw
    precision = round(counts.vc / predicted * 100, 2) if predicted else 0.0
    recall = round(counts.vc / labelled * 100, 2) if labelled else 0.0
    total = precision + recall
    f1 = round(2 * precision * recall / total, 2) if total > 0 else 0.0
    return SlotScores(precision=precision, recall=recall, f1=f1, counts=counts)


def score(
    gold: Sequence[GoldLabels],
    predictions: Sequence[Prediction],
    *,
    schema: Mapping[str, Sequence[str]],
    variant: Variant,
) -> Scores:
    """Score predictions (one per gold record, same order) by one variant.

    Args:
        gold: The records' labels.
        predictions: Predicted values per record.
        schema: Category -> the attributes the run was asked for (from the train labels).
        variant: ``published`` (ExtractGPT) or ``strict`` (every schema attribute counts).
    """
    if len(gold) != len(predictions):
        raise ValueError(f"{len(gold)} gold records but {len(predictions)} predictions")
    pairs: dict[str, dict[str, SlotCounts]] = {}
    for labels, predicted in zip(gold, predictions, strict=True):
        category = labels.category
        names = list(dict.fromkeys([*schema.get(category, ()), *labels.values]))
        by_attribute = pairs.setdefault(category, {})
        for name in names:
            values = labels.values.get(name)
            if values is None and variant == "published":
                continue  # the published protocol skips attributes the record does not list
            by_attribute.setdefault(name, SlotCounts()).add(classify(values, predicted.get(name)))
    return _aggregate(pairs, variant=variant, records=len(gold))


def _aggregate(
    pairs: dict[str, dict[str, SlotCounts]], *, variant: Variant, records: int
) -> Scores:
    total = SlotCounts()
    by_category: dict[str, SlotCounts] = {}
    by_attribute: dict[str, SlotCounts] = {}
    by_pair: dict[str, dict[str, SlotScores]] = {}
    macro: list[SlotScores] = []
    for category in sorted(pairs):
        for name in sorted(pairs[category]):
            counts = pairs[category][name]
            if counts.scored == 0:
                continue  # only NN slots: the protocol skips the pair
            scores = slot_scores(counts)
            by_pair.setdefault(category, {})[name] = scores
            macro.append(scores)
            total = total + counts
            by_category[category] = by_category.get(category, SlotCounts()) + counts
            by_attribute[name] = by_attribute.get(name, SlotCounts()) + counts
    n = len(macro)
    return Scores(
        variant=variant,
        records=records,
        micro=slot_scores(total),
        macro=MacroScores(
            precision=round(sum(s.precision for s in macro) / n, 2) if n else 0.0,
            recall=round(sum(s.recall for s in macro) / n, 2) if n else 0.0,
            f1=round(sum(s.f1 for s in macro) / n, 2) if n else 0.0,
            pairs=n,
        ),
        by_category={k: slot_scores(v) for k, v in by_category.items()},
        by_attribute={k: slot_scores(v) for k, v in sorted(by_attribute.items())},
        by_pair=by_pair,
    )
