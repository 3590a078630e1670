"""A person's review is a measured outcome for the value learnings behind a value: kept counts
as helpful, corrected as harmful, and a value corrected on two products more often than kept is
retired (a person's own learning is flagged instead)."""

from __future__ import annotations

import pytest
from tests.review.conftest import add_run, ticket

from dissensus.domain import AttributeResult, CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.review import ReviewQueue
from dissensus.storage import Database
from dissensus.storage.tables import LearningFlagRow, RunProduct

pytestmark = pytest.mark.anyio


def value_learning(kb: KnowledgeBase, value: str, *, approved: bool = False) -> str:
    key = kb.ensure_path(CategoryPath.parse("Home > Knives"))
    learning = kb.add(
        node_key=key,
        text=f"Brand: {value!r} is a value of this category",
        attributes=["Brand"],
        actor="memory-manager",
        kind="value",
        values={"Brand": value},
        approved=approved,
    )
    return learning.id


def items_citing(db: Database, learning_id: str, value: str, n: int) -> list[int]:
    """``n`` audited products whose Brand (``value``) came from the learning."""
    add_run(db, "r1")
    queue = ReviewQueue(db)
    for seq in range(n):
        t = ticket(f"k{seq}", "audit")
        brand = AttributeResult(
            value=value, status="consensus", confidence=0.8, learnings=[learning_id]
        )
        t.context.record.attributes["Brand"] = brand
        with db.write() as session:
            session.add(
                RunProduct(
                    run_id="r1",
                    seq=seq,
                    product_id=t.context.record.id,
                    category=t.context.record.category,
                    output=t.context.record.model_dump(mode="json"),
                    disputed_attributes=0,
                    supervisor_called=False,
                    input_tokens=0,
                    output_tokens=0,
                )
            )
            queue.add(session, t, run_id="r1", seq=seq)
    return sorted(item.id for item in queue.list(run_id="r1", limit=n + 1))


async def test_a_value_corrected_on_two_products_is_retired_with_the_evidence(
    db: Database,
) -> None:
    kb = KnowledgeBase(db)
    lid = value_learning(kb, "Acme Chef")
    first, second, third = items_citing(db, lid, "Acme Chef", 3)
    queue = ReviewQueue(db)
    kept = await queue.submit(first, reviewer="ann", values={"Brand": "Acme Chef"})
    assert kept.retired == [] and kb.get(lid).helpful == 1
    await queue.submit(second, reviewer="ann", values={"Brand": "Acme"})
    assert kb.get(lid).status == "active" and kb.get(lid).harmful == 1  # 1 against 1: not yet
    done = await queue.submit(third, reviewer="bob", values={"Brand": "Acme"})
    assert done.retired == [lid]
    retired = kb.get(lid)
    assert (retired.status, retired.harmful, retired.helpful) == ("deprecated", 2, 1)
    last = kb.history(learning_id=lid)[-1]
    assert last.actor == "outcomes" and "corrected the value it gave on 2" in last.reason


async def test_a_persons_learning_is_flagged_not_retired(db: Database) -> None:
    kb = KnowledgeBase(db)
    lid = value_learning(kb, "Acme Chef", approved=True)
    first, second = items_citing(db, lid, "Acme Chef", 2)
    queue = ReviewQueue(db)
    await queue.submit(first, reviewer="ann", values={"Brand": "Acme"})
    result = await queue.submit(second, reviewer="ann", values={"Brand": "Acme"})
    assert result.retired == [lid] and kb.get(lid).status == "active"
    with db.read() as session:
        flags = [f.kind for f in session.query(LearningFlagRow).filter_by(learning_id=lid)]
    assert flags == ["hurts"]
