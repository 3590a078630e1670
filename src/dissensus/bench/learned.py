"""What the learning arm taught, judged by the labels of the stream products it came from.

The benchmark's accuracy numbers say whether learning helped on the evaluation set; this says
*why*: how many of the value learnings the supervisor drafted from stream products are the
stream's own gold values. Split by status, it measures the gate: a gate that works lets right
values go live and holds wrong ones. Only the scorer's side reads labels: nothing here reaches a
run, and only stream labels are read (the products the learnings came from), never test labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from dissensus.bench.loader import NA, GoldLabels
from dissensus.bench.results import LearnedValues, ValueVerdicts
from dissensus.knowledge import KnowledgeBase

__all__ = ["judge_learned_values"]


def _verdict(gold: GoldLabels, attribute: str, value: str) -> str:
    """``right``, ``wrong``, or ``absent`` (the labels give the attribute no value)."""
    labelled = gold.values.get(attribute)
    if not labelled or labelled[0] == NA:
        return "absent"
    return "right" if value.strip() in {g.strip() for g in labelled} else "wrong"


def judge_learned_values(kb: KnowledgeBase, labels: Mapping[str, GoldLabels]) -> LearnedValues:
    """Every machine ``value`` learning whose first source is a labelled stream product.

    A learning's sources look like ``RUN:PRODUCT``; the first is the case that drafted it.
    Learnings a person wrote or approved are left out: this judges the machine's teaching.
    """
    out = LearnedValues()
    for learning in kb.list(kind="value"):
        # A reviewer's answer (``review:ITEM:RUN:PRODUCT``) is a person's, not the machine's.
        if learning.approved or not learning.sources or learning.sources[0].startswith("review:"):
            continue
        product = learning.sources[0].rsplit(":", 1)[-1]
        gold = labels.get(product)
        if gold is None or learning.status not in ("active", "proposed"):
            continue
        verdicts: ValueVerdicts = out.active if learning.status == "active" else out.proposed
        for attribute, value in learning.values.items():
            if value is None:
                continue
            verdict = _verdict(gold, attribute, value)
            verdicts.right += verdict == "right"
            verdicts.wrong += verdict == "wrong"
            verdicts.absent += verdict == "absent"
    return out
