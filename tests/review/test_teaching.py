"""Reviewed products teach: a person's answer becomes value and example learnings, through the
gate, attributed to the reviewer; and the policy sends cases with held learnings to review."""

from __future__ import annotations

import pytest
from tests.review.conftest import ATTRIBUTES, seed, ticket

from dissensus.config import Settings
from dissensus.domain import (
    AttributeResult,
    CategoryPath,
    EnrichedRecord,
    LearningDraft,
    Resolution,
)
from dissensus.knowledge import KnowledgeBase, LearningGate, MemoryManager
from dissensus.review import (
    ReviewPolicy,
    ReviewQueue,
    ReviewTeacher,
    describe_taught,
    review_drafts,
)
from dissensus.storage import Database
from dissensus.supervisor.verified_catalog import VerifiedProduct

pytestmark = pytest.mark.anyio

VERIFIED = [
    VerifiedProduct(
        id="v1",
        title="Kaito Chef Knife 8 inch",
        category="Home > Knives",
        attributes={"Brand": "Kaito", "Knife type": "Chef"},
    )
]


def test_drafts_are_a_value_per_open_attribute_and_one_example() -> None:
    product = ticket("k0").context.product
    drafts = review_drafts(product, ATTRIBUTES, {"Brand": "Acme", "Knife type": "Chef"})
    assert [(d.kind, d.values) for d in drafts] == [
        ("value", {"Brand": "Acme"}),  # Knife type is a closed set: no value learning
        ("example", {"Brand": "Acme", "Knife type": "Chef"}),
    ]
    assert drafts[-1].text == product.title
    assert review_drafts(product, ATTRIBUTES, {"Brand": None}) == []


async def test_a_submission_teaches_active_data_attributed_to_the_reviewer(db: Database) -> None:
    (item_id,) = seed(db, 1)
    queue = ReviewQueue.from_settings(db, Settings())
    result = await queue.submit(item_id, reviewer="ann", values={"Brand": "Acme"})
    kb = KnowledgeBase(db)
    learned = {lr.kind: lr for lr in kb.list() if lr.kind != "rule"}
    assert set(learned) == {"value", "example"}
    assert learned["value"].values == {"Brand": "Acme"}
    # Only what the reviewer gave or confirmed teaches (Knife type stayed the machine's).
    assert learned["example"].values == {"Brand": "Acme"}
    assert all(lr.status == "active" for lr in learned.values())
    assert all(lr.sources == [f"review:{item_id}:r1:k0"] for lr in learned.values())
    assert {e.actor for e in kb.history() if e.learning_id} == {"ann"}
    assert describe_taught(result.taught) == "2 new learnings"


async def test_learn_then_deploy_keeps_them_proposed_and_teach_off_teaches_nothing(
    db: Database,
) -> None:
    first, second = seed(db, 2)
    staged = ReviewQueue.from_settings(db, Settings(deployment_mode="learn-then-deploy"))
    await staged.submit(first, reviewer="ann", values={"Brand": "Acme"})
    kb = KnowledgeBase(db)
    assert {lr.status for lr in kb.list()} == {"proposed"}
    before = len(kb.list())
    silent = ReviewQueue.from_settings(db, Settings.model_validate({"review": {"teach": False}}))
    result = await silent.submit(second, reviewer="bob", values={"Brand": "Zeta"})
    assert result.taught == [] and len(kb.list()) == before


async def test_the_gate_keeps_a_reviewers_value_that_would_mislabel_a_verified_product(
    db: Database,
) -> None:
    (item_id,) = seed(db, 1)
    kb = KnowledgeBase(db)
    teacher = ReviewTeacher(kb, gate=LearningGate(VERIFIED))
    queue = ReviewQueue(db, teacher=teacher)
    # "Chef" as a brand would read the verified Kaito knife's type as its brand.
    result = await queue.submit(item_id, reviewer="ann", values={"Brand": "Chef"})
    (value,) = kb.list(kind="value")
    assert value.status == "proposed"
    assert "kept proposed by the gate" in describe_taught(result.taught)


async def test_a_reviewers_answer_activates_the_held_machine_learning_it_confirms(
    db: Database,
) -> None:
    (item_id,) = seed(db, 1)
    kb = KnowledgeBase(db)
    # The machine drafted the same value, but its case was held (a suspected injection).
    machine = MemoryManager(kb, None, gate=LearningGate(VERIFIED))
    held = await machine.place(
        LearningDraft(
            category="Home > Knives",
            attributes=["Brand"],
            kind="value",
            values={"Brand": "Acme"},
            text="Brand: 'Acme' is a value of this category",
            evidence="Acme Chef Knife k0",
        ),
        source="r0:k9",
        hold="instruction to the model",
    )
    assert held.held is not None and kb.get(str(held.learning_id)).status == "proposed"
    queue = ReviewQueue(db, teacher=ReviewTeacher(kb, gate=LearningGate(VERIFIED)))
    await queue.submit(item_id, reviewer="ann", values={"Brand": "Acme"})
    confirmed = kb.get(str(held.learning_id))
    assert confirmed.status == "active"
    ops = [(e.op, e.actor) for e in kb.history(learning_id=confirmed.id)]
    assert ("status", "ann") in ops  # activated by the reviewer, with the reason in history
    assert len(kb.list(kind="value")) == 1  # confirmed, not added twice


def test_the_policy_sends_a_resolution_with_held_learnings_to_review() -> None:
    record = EnrichedRecord(
        id="k1",
        category="Home > Knives",
        attributes={
            "Brand": AttributeResult(value="Acme", status="supervisor", confidence=0.6),
            "Knife type": AttributeResult(value="Chef", status="consensus", confidence=0.8),
        },
    )
    resolution = Resolution(values={"Brand": "Acme"}, confidence=0.6)
    policy = ReviewPolicy(audit_rate=0.0, audit_min_rate=0.0)
    triage = policy.triage(record, resolution=resolution, run_id="r", maturity=0, held=True)
    assert triage is not None and (triage.reason, triage.attributes) == ("unverified", ["Brand"])
    assert policy.triage(record, resolution=resolution, run_id="r", maturity=0) is None


async def test_an_answer_retires_what_the_products_own_case_taught_wrongly(db: Database) -> None:
    (item_id,) = seed(db, 1)
    kb = KnowledgeBase(db)
    key = kb.ensure_path(CategoryPath.parse("Home > Knives"))

    def value(text: str, *, approved: bool = False, source: str = "r1:k0") -> str:
        return kb.add(
            node_key=key,
            text=f"Brand: {text!r} is a value of this category",
            attributes=["Brand"],
            sources=[source],
            actor="memory-manager",
            kind="value",
            values={"Brand": text},
            approved=approved,
        ).id

    wrong, persons, elsewhere = (
        value("Acme Chef"),
        value("Acme C", approved=True),
        value("Acme Chf", source="r1:k9"),
    )
    queue = ReviewQueue.from_settings(db, Settings())
    await queue.submit(item_id, reviewer="ann", values={"Brand": "Acme"})
    assert kb.get(wrong).status == "deprecated"
    assert kb.history(learning_id=wrong)[-1].actor == "ann"
    # A person's learning, and one another product's case taught, are not this answer's to undo.
    assert kb.get(persons).status == "active" and kb.get(elsewhere).status == "active"
