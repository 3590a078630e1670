"""The learning aggregator (``dissensus kb compact``): keeps each node small and consistent.

Per node, among its active learnings:

- **Contradictions**: two learnings of the same scope (attributes) that say nearly the same words
  with opposite polarity (one negated, or an antonym pair such as first/last) are both sent to
  review: an open ``contradiction`` row in ``learning_flags`` for each, and a ``flag`` event in
  the history. They stay active (the state machine has no active → proposed edge); a person
  deprecates or edits the wrong one. They are never merged.
- **Groups**: the other learnings of one scope are grouped by word overlap; a group of at least
  ``min_group`` is synthesized by the model into one broader learning whose sources are the
  union of the group's (provenance), and the members are deprecated naming it. The synthesis is
  validated (length, no longer than the members together, overlap with every member, no number
  they do not contain); a bad or missing answer keeps the group unmerged.
- **Kept as they are**: learnings approved by a person (critical: a human wrote or checked them)
  and learnings similar to nothing (unique).
- **Budget**: learnings that no longer fit the node's prompt share (``budget_tokens``, ranked as
  retrieval ranks them) are deprecated, approved ones excepted.

Every change is a history event in one transaction per node, so ``Governance.rollback`` to
:attr:`CompactionReport.version_before` restores the knowledge base exactly.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dissensus.domain import Learning
from dissensus.knowledge._rows import (
    MAX_EXAMPLE_CHARS,
    MAX_TEXT_CHARS,
    deprecate_row,
    record,
    snapshot,
    to_learning,
    union,
)
from dissensus.knowledge._text import similarity, tokens
from dissensus.knowledge.knowledge_base import KnowledgeBase
from dissensus.knowledge.retrieval import estimate_tokens, normalize_attribute, select_for_prompt
from dissensus.llm import LLM, calling_as
from dissensus.storage import LearningRow, utcnow
from dissensus.storage.tables import LearningFlagRow

__all__ = [
    "Aggregator",
    "CompactionGroup",
    "CompactionReport",
    "Contradiction",
    "FlagKind",
    "NodeSize",
    "Synthesis",
    "contradiction",
    "flag_learning",
]

_NEGATIONS = frozenset({"not", "no", "never", "without", "don't", "doesn't", "isn't", "exclude"})
_ANTONYMS = (
    ("first", "last"),
    ("before", "after"),
    ("include", "exclude"),
    ("includes", "excludes"),
    ("always", "never"),
    ("with", "without"),
    ("metric", "imperial"),
    ("prefix", "suffix"),
    ("leading", "trailing"),
)
_WORDS = re.compile(r"[a-z0-9']+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
MIN_MEMBER_OVERLAP = 0.3
"""Least word overlap between a synthesized learning and each member it replaces."""

SYSTEM = """\
You maintain a knowledge base of rules for extracting product attributes. Several rules of one
category say similar things. Write ONE broader rule that keeps everything they say, concrete and
actionable, no longer than the originals together. Keep their numbers and units exactly."""


class Synthesis(BaseModel):
    """The model's broader learning for a group of similar ones."""

    text: str = Field(max_length=MAX_TEXT_CHARS, description="The one broader rule.")
    example: str = Field(
        default="", max_length=MAX_EXAMPLE_CHARS, description="One solved example (may be empty)."
    )


class NodeSize(BaseModel):
    """A node's active learnings and the prompt tokens they take."""

    node: str
    learnings: int
    tokens: int


class CompactionGroup(BaseModel):
    """Similar learnings found together, and what became of them."""

    node: str
    members: list[str]
    merged_into: str | None = None
    """The synthesized learning; ``None`` when the group was kept unmerged."""
    fallback: str | None = None
    """Why the group was kept unmerged."""


class Contradiction(BaseModel):
    """Two learnings of one scope that say opposite things (both sent to review)."""

    node: str
    a: str
    b: str
    reason: str


class CompactionReport(BaseModel):
    """What one compaction did, with node sizes before and after."""

    version_before: int
    """Roll back to this KB version to undo the compaction."""
    version_after: int
    before: list[NodeSize] = Field(default_factory=list)
    after: list[NodeSize] = Field(default_factory=list)
    groups: list[CompactionGroup] = Field(default_factory=list)
    contradictions: list[Contradiction] = Field(default_factory=list)
    trimmed: list[str] = Field(default_factory=list)
    """Learnings deprecated because the node's prompt share was full."""
    model_calls: int = 0


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.casefold()))


def contradiction(a: Learning, b: Learning, *, min_similarity: float) -> str | None:
    """Why two learnings of one scope contradict each other, or ``None``.

    Lexical on purpose: the texts must be the same rule but for a negation or an antonym pair
    (at most one other content word apart), so restatements that merely contain "not" somewhere
    are not taken for contradictions.
    """
    if _scope(a) != _scope(b) or similarity(a.text, b.text) < min_similarity:
        return None
    wa, wb = _words(a.text), _words(b.text)
    apart = set(tokens(a.text)) ^ set(tokens(b.text))
    if bool(wa & _NEGATIONS) != bool(wb & _NEGATIONS) and len(apart - _NEGATIONS) <= 1:
        return "same rule, one negated"
    for left, right in _ANTONYMS:
        if (left in wa - wb and right in wb - wa) or (right in wa - wb and left in wb - wa):
            if len(apart - {left, right}) <= 1:
                return f"same rule with {left!r} against {right!r}"
    return None


def _scope(learning: Learning) -> frozenset[str]:
    return frozenset(normalize_attribute(a) for a in learning.attributes)


def _size(node: str, learnings: Sequence[Learning]) -> NodeSize:
    return NodeSize(
        node=node,
        learnings=len(learnings),
        tokens=sum(estimate_tokens(lr.render() + "\n") for lr in learnings),
    )


class Aggregator:
    """Compacts the nodes of a :class:`KnowledgeBase`.

    Args:
        kb: The knowledge base.
        llm: Synthesizes groups; ``None`` keeps every group unmerged (contradictions and the
            budget are still handled).
        similarity: Least word overlap (0–1) for two learnings to be grouped or compared.
        min_group: Smallest group that is synthesized.
        budget_tokens: A node's prompt share (normally ``learning_budget_tokens``).
        max_tokens: Output budget of one synthesis.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        llm: LLM | None,
        *,
        similarity: float = 0.5,
        min_group: int = 3,
        budget_tokens: int = 400,
        max_tokens: int = 400,
    ) -> None:
        self.kb = kb
        self._llm = llm
        self._similarity = similarity
        self._min_group = min_group
        self._budget = budget_tokens
        self._max_tokens = max_tokens

    async def compact(
        self, nodes: Sequence[str] | None = None, *, actor: str = "aggregator"
    ) -> CompactionReport:
        """Compact ``nodes`` (default: every node with active learnings)."""
        keys = list(nodes) if nodes is not None else [n.key for n in self.kb.tree() if n.active]
        report = CompactionReport(version_before=self.kb.version(), version_after=0)
        for key in keys:
            learnings = self._active(key)
            report.before.append(_size(key, learnings))
            await self._compact_node(key, learnings, actor, report)
            report.after.append(_size(key, self._active(key)))
        report.version_after = self.kb.version()
        return report

    def _active(self, key: str) -> list[Learning]:
        # Only rules are prose to merge and trim; values and examples are data, deduplicated
        # when they are placed, and a synthesized "broader" value would be no value at all.
        return [
            lr for lr in self.kb.list(node_key=key) if lr.status == "active" and lr.kind == "rule"
        ]

    async def _compact_node(
        self, key: str, learnings: list[Learning], actor: str, report: CompactionReport
    ) -> None:
        conflicted: set[str] = set()
        found: list[Contradiction] = []
        for i, a in enumerate(learnings):
            for b in learnings[i + 1 :]:
                why = contradiction(a, b, min_similarity=self._similarity)
                if why is not None:
                    found.append(Contradiction(node=key, a=a.id, b=b.id, reason=why))
                    conflicted |= {a.id, b.id}
        candidates = [lr for lr in learnings if lr.id not in conflicted and not lr.approved]
        planned: list[tuple[list[Learning], Synthesis | None, str | None]] = []
        for group in self._groups(candidates):
            synthesis, why = await self._synthesize(group)
            report.model_calls += 1 if self._llm is not None else 0
            planned.append((group, synthesis, why))
        with self.kb.database.write() as session:
            for item in found:
                if self._flag_pair(session, item, actor):
                    report.contradictions.append(item)
            for group, synthesis, why in planned:
                ids = [lr.id for lr in group]
                merged = None
                if synthesis is not None:
                    merged = self._merge(session, key, group, synthesis, actor)
                report.groups.append(
                    CompactionGroup(node=key, members=ids, merged_into=merged, fallback=why)
                )
            report.trimmed += self._trim(session, key, actor)

    def _groups(self, learnings: list[Learning]) -> list[list[Learning]]:
        """Connected groups of one scope by word overlap, at least ``min_group`` strong."""
        parent = {lr.id: lr.id for lr in learnings}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, a in enumerate(learnings):
            for b in learnings[i + 1 :]:
                if _scope(a) == _scope(b) and similarity(a.text, b.text) >= self._similarity:
                    parent[root(a.id)] = root(b.id)
        groups: dict[str, list[Learning]] = {}
        for lr in learnings:
            groups.setdefault(root(lr.id), []).append(lr)
        return [g for g in groups.values() if len(g) >= self._min_group]

    async def _synthesize(self, group: list[Learning]) -> tuple[Synthesis | None, str | None]:
        if self._llm is None:
            return None, "no model to synthesize with; kept unmerged"
        prompt = "\n".join(["RULES", *(lr.render() for lr in group)])
        with calling_as("aggregator", [lr.id for lr in group]):
            answer = await self._llm.structured(
                Synthesis, system=SYSTEM, prompt=prompt, max_tokens=self._max_tokens
            )
        if answer.output is None:
            return None, f"model {answer.model} abstained ({answer.error}); kept unmerged"
        out = Synthesis(text=answer.output.text.strip(), example=answer.output.example.strip())
        problem = _check(out, group)
        return (None, f"synthesis rejected: {problem}; kept unmerged") if problem else (out, None)

    def _merge(
        self,
        session: Session,
        key: str,
        group: list[Learning],
        synthesis: Synthesis,
        actor: str,
    ) -> str:
        now = utcnow()
        ids = [lr.id for lr in group]
        new = LearningRow(
            id=_new_id(session),
            node_key=key,
            attributes=union(*(lr.attributes for lr in group)),
            text=synthesis.text,
            example=synthesis.example or next((lr.example for lr in group if lr.example), ""),
            status="active",
            version=1,
            sources=union(*(lr.sources for lr in group)),
            uses=0,
            approved=False,
            created_at=now,
            updated_at=now,
        )
        session.add(new)
        session.flush()
        why = f"compacted: synthesized from {', '.join(ids)}"
        record(
            session,
            "add",
            actor,
            why,
            learning_id=new.id,
            node_key=key,
            before=None,
            after=snapshot(new),
        )
        for learning_id in ids:
            self._deprecate(session, learning_id, actor, f"compacted into {new.id}")
        return new.id

    def _trim(self, session: Session, key: str, actor: str) -> list[str]:
        rows = session.scalars(
            select(LearningRow).where(LearningRow.node_key == key, LearningRow.status == "active")
        ).all()
        learnings = [to_learning(r) for r in rows]
        kept = {
            lr.id for lr in select_for_prompt(learnings, {key: 0}, None, budget_tokens=self._budget)
        }
        trimmed = [lr.id for lr in learnings if lr.id not in kept and not lr.approved]
        for learning_id in trimmed:
            self._deprecate(
                session,
                learning_id,
                actor,
                f"compacted: crowded out of the node's {self._budget}-token prompt share",
            )
        return trimmed

    def _deprecate(self, session: Session, learning_id: str, actor: str, reason: str) -> None:
        # FOR UPDATE: on PostgreSQL a concurrent change to this row waits instead of being lost.
        row = session.get(LearningRow, learning_id, with_for_update=True)
        assert row is not None
        deprecate_row(session, row, actor, reason)

    def _flag_pair(self, session: Session, item: Contradiction, actor: str) -> bool:
        """Flag both learnings for review, once per pair; True if the flag is new."""
        existing = session.scalar(
            select(LearningFlagRow.id).where(
                LearningFlagRow.kind == "contradiction",
                LearningFlagRow.state == "open",
                LearningFlagRow.learning_id == item.a,
                LearningFlagRow.partner_id == item.b,
            )
        )
        if existing is not None:
            return False
        for mine, other in ((item.a, item.b), (item.b, item.a)):
            flag_learning(
                session,
                mine,
                "contradiction",
                f"contradicts {other}: {item.reason}",
                actor=actor,
                partner_id=other,
            )
        return True


FlagKind = Literal["contradiction", "no_effect", "hurts"]


def flag_learning(
    session: Session,
    learning_id: str,
    kind: FlagKind,
    reason: str,
    *,
    actor: str,
    partner_id: str | None = None,
    evidence: dict[str, object] | None = None,
) -> None:
    """Open a review flag on a learning and record it as a ``flag`` event (no state change)."""
    row = session.get(LearningRow, learning_id)
    assert row is not None
    session.add(
        LearningFlagRow(
            learning_id=learning_id,
            kind=kind,
            partner_id=partner_id,
            reason=reason,
            evidence=dict(evidence or {}),
            state="open",
        )
    )
    state = snapshot(row)
    record(
        session,
        "flag",
        actor,
        reason,
        learning_id=learning_id,
        node_key=row.node_key,
        before=state,
        after=state,
    )


def _check(out: Synthesis, group: list[Learning]) -> str | None:
    if not out.text:
        return "empty text"
    total = sum(estimate_tokens(lr.text + " " + lr.example) for lr in group)
    if estimate_tokens(out.text + " " + out.example) > total:
        return "longer than the learnings it replaces together"
    for lr in group:
        if similarity(out.text, lr.text) < MIN_MEMBER_OVERLAP:
            return f"it drops what {lr.id} says (overlap < {MIN_MEMBER_OVERLAP})"
    known = set().union(*(_NUMBER.findall(lr.text + " " + lr.example) for lr in group))
    invented = sorted(set(_NUMBER.findall(out.text + " " + out.example)) - known)
    if invented:
        return f"numbers no member states: {', '.join(invented)}"
    if not set(tokens(out.text)):
        return "no content words"
    return None


def _new_id(session: Session) -> str:
    # The same id scheme as KnowledgeBase.add, inside this transaction.
    while True:
        candidate = f"L-{secrets.token_hex(3)}"
        if session.get(LearningRow, candidate) is None:
            return candidate
