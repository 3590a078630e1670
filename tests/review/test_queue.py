"""The queue on one process: claim order, refusals, the visibility timeout, submit, export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dissensus.domain import LearningDraft
from dissensus.errors import ReviewError, UnknownRunError
from dissensus.knowledge import KnowledgeBase
from dissensus.llm.testing import ScriptedLLM, ScriptedRequest
from dissensus.review import ReviewQueue, write_run_output
from dissensus.storage import Database
from dissensus.storage.tables import RunProduct, utcnow

from .conftest import add_run, seed, ticket


class Clock:
    """A clock tests move forward to expire claims."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def stored_output(db: Database, run_id: str, seq: int) -> dict[str, object]:
    with db.read() as session:
        row = session.get(RunProduct, (run_id, seq))
        assert row is not None
        return dict(row.output)


def no_model(request: ScriptedRequest) -> str:
    raise AssertionError(f"the memory manager asked a model in an empty KB: {request.prompt}")


def test_items_are_claimed_by_priority_then_age_and_never_twice(db: Database) -> None:
    ids = seed(db, 4, reasons=["audit", "low_confidence", "needs_human", "needs_human"])
    queue = ReviewQueue(db)
    got = [queue.claim_next(reviewer=f"rev{i}") for i in range(5)]
    # needs_human (seq 2, 3), then low_confidence (seq 1), then the audit (seq 0); then nothing.
    assert [d.id if d else None for d in got] == [ids[2], ids[3], ids[1], ids[0], None]
    assert [d.claimed_by for d in got if d] == ["rev0", "rev1", "rev2", "rev3"]
    assert queue.stats().model_dump() == {
        "open": 0,
        "claimed": 4,
        "done": 0,
        "expired": 0,
        "pending_by_reason": {"audit": 1, "low_confidence": 1, "needs_human": 2},
    }


@pytest.mark.anyio
async def test_a_claimed_item_returns_to_the_queue_after_the_visibility_timeout(
    db: Database,
) -> None:
    first_id, second_id = seed(db, 2)
    clock = Clock()
    queue = ReviewQueue(db, claim_timeout=timedelta(minutes=10), clock=clock)
    first = queue.claim_next(reviewer="ann")
    assert first is not None and first.id == first_id and first.state == "claimed"
    queue.claim(second_id, reviewer="ann")
    clock.advance(minutes=9)
    assert queue.claim_next(reviewer="bob") is None  # both still ann's
    with pytest.raises(ReviewError, match="claimed by ann"):
        queue.claim(first_id, reviewer="bob")
    clock.advance(minutes=2)
    assert [i.state for i in queue.list(state="open")] == ["open", "open"]
    assert queue.stats().expired == 2
    again = queue.claim_next(reviewer="bob")
    assert again is not None and again.id == first_id and again.claims == 2
    # ann's late answer is refused where bob holds the item, accepted where nobody took over.
    with pytest.raises(ReviewError, match=r"claimed by bob .* 'ann' cannot submit"):
        await queue.submit(first_id, reviewer="ann", values={"Brand": "Acme"})
    late = await queue.submit(second_id, reviewer="ann", values={"Brand": "Acme"})
    assert late.item.state == "done"


def test_release_gives_an_item_back_and_only_its_holder_may(db: Database) -> None:
    (item_id,) = seed(db, 1)
    queue = ReviewQueue(db)
    queue.claim(item_id, reviewer="ann")
    # The refusal says who holds it, and how to release it as them.
    with pytest.raises(ReviewError) as refused:
        queue.release(item_id, reviewer="bob")
    assert str(refused.value) == (
        f"review item {item_id} is not claimed by 'bob': it is claimed by 'ann' "
        "(--reviewer names who releases it)"
    )
    assert queue.release(item_id, reviewer="ann").state == "open"
    with pytest.raises(ReviewError, match="it is open, not claimed"):
        queue.release(item_id, reviewer="ann")
    claimed = queue.claim_next(reviewer="bob")
    assert claimed is not None and claimed.id == item_id


@pytest.mark.anyio
async def test_submit_sets_human_values_closes_the_item_and_confirms_the_rest(
    db: Database,
) -> None:
    (item_id,) = seed(db, 1, reasons=["audit"])
    queue = ReviewQueue(db)
    queue.claim(item_id, reviewer="ann")
    result = await queue.submit(item_id, reviewer="ann", values={"Knife type": "paring"})
    expected = {
        "Brand": {"value": "Acme", "status": "human", "confidence": 1.0, "learnings": []},
        "Knife type": {"value": "Paring", "status": "human", "confidence": 1.0, "learnings": []},
    }
    assert stored_output(db, "r1", 0)["attributes"] == expected
    assert result.record.model_dump(mode="json")["attributes"] == expected
    assert result.item.state == "done" and result.item.closed_by == "ann"
    assert result.item.submission is not None
    assert result.item.submission.values == {"Knife type": "Paring", "Brand": "Acme"}
    assert result.item.submission.changed == ["Knife type"]
    detail = queue.get(item_id)
    assert detail.current.attributes["Knife type"].value == "Paring"
    assert detail.context.record.attributes["Knife type"].value == "Chef"  # as the run made it
    assert queue.claim_next(reviewer="bob") is None
    with pytest.raises(ReviewError, match="already submitted by ann"):
        await queue.submit(item_id, reviewer="bob", values={})


@pytest.mark.anyio
async def test_submit_refuses_unknown_attributes_values_outside_the_set_and_missing_answers(
    db: Database,
) -> None:
    (item_id,) = seed(db, 1)
    queue = ReviewQueue(db)
    with pytest.raises(ReviewError, match="no attribute 'Colour'; its attributes are Brand"):
        await queue.submit(item_id, reviewer="ann", values={"Colour": "red"})
    with pytest.raises(ReviewError, match="'Bread' is not an allowed value of 'Knife type'"):
        await queue.submit(item_id, reviewer="ann", values={"Brand": "Acme", "Knife type": "Bread"})
    with pytest.raises(ReviewError, match="'Brand' waits for a value"):
        await queue.submit(item_id, reviewer="ann", values={})
    with pytest.raises(ReviewError, match="reviewer name is needed"):
        await queue.submit(item_id, reviewer=" ", values={"Brand": "Acme"})
    with pytest.raises(ReviewError, match="needs a model"):
        await queue.submit(item_id, reviewer="ann", values={"Brand": "Acme"}, learning="x")
    # Nothing was written by the refused submissions; "absent" is a valid answer.
    assert queue.get(item_id).state == "open"
    result = await queue.submit(item_id, reviewer="ann", values={"Brand": None})
    assert result.record.attributes["Brand"].model_dump() == {
        "value": None,
        "status": "human",
        "confidence": 1.0,
        "learnings": [],
    }


@pytest.mark.anyio
async def test_a_submitted_learning_enters_the_knowledge_base_as_proposed_by_the_reviewer(
    db: Database,
) -> None:
    (item_id,) = seed(db, 1)
    queue = ReviewQueue(db)
    llm = ScriptedLLM("scripted:memory", no_model)
    result = await queue.submit(
        item_id,
        reviewer="ann",
        values={"Brand": "Acme"},
        learning="The brand is the first word of the title, never the knife type.",
        llm=llm,
    )
    assert result.placement is not None and result.placement.op == "add"
    kb = KnowledgeBase(db)
    learning = kb.get(result.placement.learning_id or "")
    assert (learning.status, learning.node, learning.attributes, learning.sources) == (
        "proposed",
        "/home/knives",
        ["Brand"],
        ["r1:k0"],
    )
    assert {e.actor for e in kb.history(learning_id=learning.id)} == {"ann"}
    assert result.item.submission is not None
    assert result.item.submission.learning_id == learning.id
    assert queue.get(item_id).submission == result.item.submission
    # A full draft chooses its own scope.
    (other,) = seed(db, 1, run_id="r2")
    draft = LearningDraft(category="Home", attributes=[], text="Sizes keep their unit.")
    placed = await queue.submit(
        other, reviewer="bob", values={"Brand": "Acme"}, learning=draft, llm=llm
    )
    assert placed.placement is not None and placed.placement.node == "/home"


def test_enqueue_stores_one_item_per_output_record(db: Database) -> None:
    add_run(db)
    queue = ReviewQueue(db)
    with pytest.raises(ReviewError, match="no output record #0"):
        queue.enqueue(ticket("k0"), run_id="r1", seq=0)
    with db.write() as session:
        session.add(
            RunProduct(
                run_id="r1",
                seq=0,
                product_id="k0",
                category="Home > Knives",
                output=ticket("k0").context.record.model_dump(mode="json"),
            )
        )
    item_id = queue.enqueue(ticket("k0"), run_id="r1", seq=0)
    assert queue.get(item_id).context.product.id == "k0"
    with pytest.raises(ReviewError, match=f"already review item {item_id}"):
        queue.enqueue(ticket("k0"), run_id="r1", seq=0)
    with pytest.raises(ReviewError, match="review item 999 does not exist"):
        queue.get(999)


@pytest.mark.anyio
async def test_the_run_output_file_is_rewritten_from_the_stored_records(
    db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "enriched.jsonl"
    ids = seed(db, 3, output_path=out)
    await ReviewQueue(db).submit(ids[1], reviewer="ann", values={"Brand": "Acme"})
    path, lines = write_run_output(db, "r1")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert (path, lines) == (out, 3)
    assert [r["id"] for r in records] == ["k0", "k1", "k2"]
    assert [r["attributes"]["Brand"]["status"] for r in records] == [
        "needs_review",
        "human",
        "needs_review",
    ]
    other = tmp_path / "copy.jsonl"
    assert write_run_output(db, "r1", other) == (other, 3)
    with pytest.raises(UnknownRunError, match="there is no run 'nope'"):
        write_run_output(db, "nope", other)


@pytest.mark.parametrize("item_id", [0, -1, 99999999999999999999999, 2**63])
def test_an_id_no_item_can_have_is_not_found_not_a_crash(db: Database, item_id: int) -> None:
    with pytest.raises(ReviewError, match=f"review item {item_id} does not exist"):
        ReviewQueue(db).get(item_id)


@pytest.mark.anyio
async def test_an_all_empty_answer_needs_a_confirmation_on_every_front(db: Database) -> None:
    """The web form once stored an empty submission as 'every attribute absent'; the rule now
    lives in the queue, so the CLI and the web app refuse it alike unless the reviewer says so."""
    first, second = seed(db, 2)
    queue = ReviewQueue(db)
    blank = {"Brand": None, "Knife type": None}  # what an untouched web form sends
    with pytest.raises(ReviewError, match="every value is empty"):
        await queue.submit(first, reviewer="ann", values=blank)
    assert queue.get(first).state == "open"  # nothing was stored
    done = await queue.submit(first, reviewer="ann", values=blank, all_absent=True)
    assert done.record.attributes["Knife type"].value is None
    # A value anywhere makes it an answer, not a blank form.
    ok = await queue.submit(second, reviewer="ann", values={"Brand": "Acme"})
    assert ok.item.state == "done"
