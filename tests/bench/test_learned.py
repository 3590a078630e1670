"""The learning arm's value learnings judged by the labels of the stream products they came from."""

from __future__ import annotations

from pathlib import Path

from dissensus.bench.learned import judge_learned_values
from dissensus.bench.loader import GoldLabels
from dissensus.bench.results import LearnedValues
from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.storage import Database

LABELS = {
    "train-00001": GoldLabels(category="Tea", values={"Brand": ("Twinings",), "Flavor": ("n/a",)}),
    "train-00002": GoldLabels(category="Tea", values={"Brand": ("Lipton ", "Lipton Tea")}),
}


def test_live_and_held_values_are_counted_right_wrong_or_absent(tmp_path: Path) -> None:
    with Database.open(f"sqlite:///{tmp_path / 'kb.sqlite'}") as db:
        judged = judge(KnowledgeBase(db))
    assert judged.active.model_dump() == {"right": 2, "wrong": 0, "absent": 1}
    assert judged.proposed.model_dump() == {"right": 0, "wrong": 1, "absent": 1}
    assert (judged.active.rate, judged.proposed.rate) == (66.67, 0.0)


def judge(kb: KnowledgeBase) -> LearnedValues:
    node = kb.ensure_path(CategoryPath.parse("Tea"), actor="test")

    def value(name: str, value: str, source: str, status: str = "active", **kw: bool) -> None:
        kb.add(node_key=node, text=f"{name}: {value!r}", kind="value", values={name: value},
               sources=[source], actor="mm", status=status, **kw)  # type: ignore[arg-type]  # fmt: skip

    value("Brand", "Twinings", "run:train-00001")  # right
    value("Flavor", "Earl Grey", "run:train-00001")  # labelled n/a: absent
    value("Brand", "Lipton", "run:train-00002")  # right: gold values are stripped
    value("Color", "Green", "run:train-00002", status="proposed")  # not labelled: absent
    value("Brand", "Tea", "run:train-00002", status="proposed")  # wrong
    value("Brand", "Yogi", "run:train-00002", approved=True)  # a person's: not judged
    value("Brand", "Tazo", "run:test-00001")  # not a stream product: not judged
    value("Brand", "Pukka", "review:7:run:train-00001")  # a reviewer's answer: not judged
    return judge_learned_values(kb, LABELS)
