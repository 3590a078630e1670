"""Reviewed products teach: a person's answer becomes value and example learnings.

A reviewer who fixes a product has produced the best evidence the system ever sees: values a
person checked against the listing. Left on the output record, that evidence helps one product;
placed in the knowledge base as data (the values as the category's known values, the product as
a solved example) it helps every similar product after it, through the lexicon worker and the
retrieved examples, exactly as the verified catalog does.

Each learning is still checked by the gate when one is given (a typo that would mislabel a
verified product stays ``proposed``), and a machine learning of the same data that the gate
held is activated as confirmed by the reviewer. Only the values the reviewer gave or confirmed
teach; the rest of the record is the machine's and teaches nothing here.

The answer also corrects what the product's own case taught: a machine-made value or example
learning whose source is that case and whose values the reviewer contradicts is retired
(deprecated if live, rejected if proposed) by the reviewer, so a wrong resolution does not go
on teaching after a person fixed it. Learnings a person wrote or approved are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from dissensus.domain import AttributeSpec, Learning, LearningDraft, LearningStatus, Product
from dissensus.domain.lexicon import value_tokens
from dissensus.knowledge import KnowledgeBase, LearningGate, MemoryManager, Placement

__all__ = ["ReviewTeacher", "describe_taught", "review_drafts"]

_TEXT_CHARS = 400


def review_drafts(
    product: Product, specs: list[AttributeSpec], values: Mapping[str, str | None]
) -> list[LearningDraft]:
    """The learnings one reviewed product teaches: a value learning per open attribute with a
    value, and one example (the title with every value the reviewer gave), in schema order."""
    order = [s.name for s in specs]
    closed = {s.name for s in specs if s.values}
    given = {n: values[n] for n in order if n in values and values[n] is not None}
    category = product.category or ""
    drafts = [
        LearningDraft(
            category=category,
            attributes=[name],
            kind="value",
            values={name: value},
            text=f"{name}: {value!r} is a value of this category"[:_TEXT_CHARS],
            evidence=product.text,
        )
        for name, value in given.items()
        if name not in closed
    ]
    if given:
        drafts.append(
            LearningDraft(
                category=category,
                attributes=list(given),
                kind="example",
                values=dict(given),
                text=product.title[:_TEXT_CHARS],
                evidence=product.text,
            )
        )
    return drafts


class ReviewTeacher:
    """Places what reviewed products teach, attributed to the reviewer.

    Args:
        kb: The knowledge base to teach.
        status: Status of the new learnings: the deployment's ``authored_status`` (active in
            deploy-and-learn, proposed in learn-then-deploy, where a promotion publishes).
        gate: Checks each learning against verified evidence; ``None`` trusts the reviewer.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        status: LearningStatus = "active",
        gate: LearningGate | None = None,
    ) -> None:
        self._kb = kb
        self._status: LearningStatus = status
        self._gate = gate

    async def teach(
        self,
        product: Product,
        specs: list[AttributeSpec],
        values: Mapping[str, str | None],
        *,
        reviewer: str,
        source: str,
        case: str | None = None,
    ) -> list[Placement]:
        """Place the drafts of one reviewed product; ``source`` names the review (provenance),
        ``case`` the case id whose machine learnings the answer may contradict."""
        if not product.category:
            return []  # no category: no node of the tree the learnings could serve
        if case is not None:
            self.retract(product, values, reviewer=reviewer, case=case)
        manager = MemoryManager(
            self._kb, None, actor=reviewer, person=True, status=self._status, gate=self._gate
        )
        return [
            await manager.place(draft, source=source)
            for draft in review_drafts(product, specs, values)
        ]

    def retract(
        self,
        product: Product,
        values: Mapping[str, str | None],
        *,
        reviewer: str,
        case: str,
    ) -> list[str]:
        """Retire the machine learnings ``case`` taught that the reviewer's values contradict."""
        retired: list[str] = []
        for learning in self._kb.list(node_key=product.path.key):
            if (
                learning.kind == "rule"
                or learning.approved
                or learning.status not in ("active", "proposed")
                or case not in learning.sources
                or not _contradicts(learning, values)
            ):
                continue
            status: LearningStatus = "deprecated" if learning.status == "active" else "rejected"
            self._kb.set_status(
                learning.id,
                status,
                reviewer,
                f"{reviewer}'s answer on {product.id} contradicts what its case taught",
            )
            retired.append(learning.id)
        return retired


def _contradicts(learning: Learning, values: Mapping[str, str | None]) -> bool:
    """Whether the reviewer's values disagree with a value the learning holds."""
    for attribute, held in learning.values.items():
        if attribute not in values or held is None:
            continue
        given = values[attribute]
        if given is None or value_tokens(given) != value_tokens(held):
            return True
    return False


def describe_taught(placements: list[Placement]) -> str:
    """One line for people: what a submission taught (``2 new learnings active, 1 kept
    proposed by the gate, 3 already known``), the same words on the CLI and the web."""
    new = [p for p in placements if p.learning_id is not None]
    held = sum(1 for p in new if p.held is not None)
    known = len(placements) - len(new)
    parts = [f"{len(new) - held} new learnings"]
    if held:
        parts.append(f"{held} kept proposed by the gate")
    if known:
        parts.append(f"{known} already known")
    return ", ".join(parts)
