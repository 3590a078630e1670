"""Bootstrap intervals for micro-F1 differences between arms, resampling evaluation records.

Two arms scored on the same records are paired: each resample draws records with replacement
and scores both arms on the same draw, so the interval is of the difference itself, not of two
independent scores. Slot counts are computed once per record and summed per draw, which keeps
2,000 resamples of a few hundred records well under a second.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from dissensus.bench.loader import GoldLabels
from dissensus.bench.results import Interval
from dissensus.bench.scoring import Prediction, SlotCounts, Variant, classify, slot_scores

__all__ = ["difference_interval", "record_counts"]


def record_counts(
    gold: Sequence[GoldLabels],
    predictions: Sequence[Prediction],
    *,
    schema: Mapping[str, Sequence[str]],
    variant: Variant,
) -> list[SlotCounts]:
    """Slot counts per record, by the same rules as :func:`dissensus.bench.scoring.score`."""
    out: list[SlotCounts] = []
    for labels, predicted in zip(gold, predictions, strict=True):
        counts = SlotCounts()
        names = list(dict.fromkeys([*schema.get(labels.category, ()), *labels.values]))
        for name in names:
            values = labels.values.get(name)
            if values is None and variant == "published":
                continue
            counts.add(classify(values, predicted.get(name)))
        out.append(counts)
    return out


def _f1(counts: Sequence[tuple[int, int, int, int]], draw: Sequence[int]) -> float:
    nv = vn = vc = vw = 0
    for i in draw:
        c = counts[i]
        nv, vn, vc, vw = nv + c[0], vn + c[1], vc + c[2], vw + c[3]
    return slot_scores(SlotCounts(nv=nv, vn=vn, vc=vc, vw=vw)).f1


def difference_interval(
    a: str,
    b: str,
    counts_a: Sequence[SlotCounts],
    counts_b: Sequence[SlotCounts],
    *,
    variant: Variant,
    resamples: int = 2000,
    seed: int = 13,
) -> Interval:
    """The 95 % percentile interval of micro-F1(a) − micro-F1(b) over resampled records."""
    if len(counts_a) != len(counts_b):
        raise ValueError("both arms must be scored on the same records")
    n = len(counts_a)
    everyone = range(n)
    ta = [(c.nv, c.vn, c.vc, c.vw) for c in counts_a]
    tb = [(c.nv, c.vn, c.vc, c.vw) for c in counts_b]
    observed = _f1(ta, everyone) - _f1(tb, everyone)
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples if n else 0):
        draw = [rng.randrange(n) for _ in range(n)]
        diffs.append(_f1(ta, draw) - _f1(tb, draw))
    diffs.sort()
    low = diffs[int(0.025 * len(diffs))] if diffs else 0.0
    high = diffs[min(len(diffs) - 1, int(0.975 * len(diffs)))] if diffs else 0.0
    return Interval(
        a=a,
        b=b,
        variant=variant,
        difference=round(observed, 2),
        low=round(low, 2),
        high=round(high, 2),
        resamples=resamples,
    )
