"""Effectiveness on a constructed history where one learning helps and one hurts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from dissensus.knowledge import KnowledgeBase
from dissensus.knowledge.effectiveness import act_on_effects, measure_effects
from dissensus.storage import LearningRow, Run, RunProduct

from .conftest import path

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def history(kb: KnowledgeBase) -> tuple[str, str]:
    """10 knives before any learning (half disputed), then 10 with each learning."""
    node = kb.ensure_path(path("Home > Knives"))
    good = kb.add(node_key=node, text="Brand is the first word.", actor="mm").id
    bad = kb.add(node_key=node, text="Brand is the last word.", actor="mm").id
    with kb.database.write() as session:
        session.execute(
            update(LearningRow).where(LearningRow.id.in_([good, bad])).values(created_at=T0)
        )
        session.add(
            Run(
                id="r", status="completed", input_path="", input_sha256="", schema_path="",
                schema_sha256="", config={}, summary=None, finished_at=None,
            )
        )  # fmt: skip
        plan = [(-1, [], i % 2) for i in range(10)]  # before: 50 % disputed
        plan += [(1, [good], int(i < 1)) for i in range(10)]  # 10 % with the good one
        plan += [(1, [bad], int(i < 9)) for i in range(10)]  # 90 % with the bad one
        for seq, (days, used, disputed) in enumerate(plan):
            result = {"value": "x", "status": "consensus", "confidence": 1, "learnings": used}
            session.add(
                RunProduct(
                    run_id="r",
                    seq=seq,
                    product_id=f"p{seq}",
                    category="Home > Knives > Chef",
                    output={"attributes": {"Brand": result}},
                    disputed_attributes=disputed,
                    finished_at=T0 + timedelta(days=days),
                )
            )
    return good, bad


def test_one_learning_helps_and_one_hurts(kb: KnowledgeBase) -> None:
    good, bad = history(kb)
    effects = {e.learning_id: e for e in measure_effects(kb, min_products=5, threshold=0.15)}
    assert (effects[good].verdict, effects[good].effect) == ("helps", -0.4)
    assert (effects[bad].verdict, effects[bad].effect) == ("hurts", 0.4)
    assert (effects[bad].with_products, effects[bad].before_products) == (10, 10)


def test_a_hurting_learning_is_deprecated_with_the_evidence(kb: KnowledgeBase) -> None:
    good, bad = history(kb)
    effects = measure_effects(kb, min_products=5, threshold=0.15)
    assert act_on_effects(kb, effects) == [bad]
    assert kb.get(bad).status == "deprecated" and kb.get(good).status == "active"
    last = kb.history(learning_id=bad)[-1]
    assert last.op == "status" and last.actor == "effectiveness"
    assert "disagreement 90% on 10 products with it vs 50% on 10" in last.reason
    assert act_on_effects(kb, measure_effects(kb)) == []  # nothing twice


def test_too_few_products_is_unknown(kb: KnowledgeBase) -> None:
    good, _ = history(kb)
    effects = {e.learning_id: e for e in measure_effects(kb, min_products=11)}
    assert effects[good].verdict == "unknown" and effects[good].effect is None
