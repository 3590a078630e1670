"""The memory manager: places each new learning in the knowledge tree.

It walks from the root towards the draft's category. At each node it may descend into a child,
create a branch, add the learning here, merge it into a learning already here, replace one, or
discard the draft as a duplicate. A model is asked only where there is a real choice — a node
already holding learnings about the same attributes; elsewhere a rule follows the draft's own
category path, which costs nothing and is what the model would do anyway. Every model decision is
validated, and anything unusable (or an abstention) falls back to adding the learning at the
draft's own category, so a bad answer never loses a lesson or corrupts the tree.

``value`` and ``example`` learnings are data, not prose: they need no model to place. They go
to the node of their product's category, where a known value or a solved product that is
already there absorbs a duplicate (the draft is discarded and, if proposed, confirmed). Only the
draft's own category path ever creates nodes, so every node is named for a real category.

Every draft passes the :class:`~dissensus.knowledge.gate.LearningGate` first when one is given:
a learning that would be active but fails (or cannot be checked against verified evidence)
is placed ``proposed`` instead, with the gate's reason in its history. A learning that a person
approved is never merged into or replaced by a machine; the draft is added beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from dissensus.domain import (
    ROOT_KEY,
    CategoryPath,
    Learning,
    LearningDraft,
    LearningStatus,
    Lexicon,
    Usage,
)
from dissensus.domain.lexicon import value_tokens
from dissensus.errors import KnowledgeError
from dissensus.knowledge._text import normalize_text, similarity
from dissensus.knowledge.gate import GateVerdict, LearningGate
from dissensus.knowledge.knowledge_base import (
    MAX_EXAMPLE_CHARS,
    MAX_TEXT_CHARS,
    DuplicateLearning,
    KnowledgeBase,
)
from dissensus.knowledge.retrieval import applies_to
from dissensus.knowledge.tree import NodeInfo, child_key, depth_of
from dissensus.llm import LLM, calling_as

__all__ = [
    "DISCARD_SIMILARITY",
    "MemoryManager",
    "Placement",
    "PlacementDecision",
    "PlacementOp",
    "PlacementStep",
]

PlacementOp = Literal["descend", "create_branch", "add", "merge", "replace", "discard"]
FinalOp = Literal["add", "merge", "replace", "discard"]
DecidedBy = Literal["rule", "model", "fallback"]

DISCARD_SIMILARITY = 0.5
"""Least word overlap (0–1) between a draft and a learning for a model's ``discard`` to stand."""
MAX_BRANCH_NAME = 60
MAX_SHOWN = 10
"""Learnings of one node shown to the model; the most similar to the draft are chosen."""
_LIVE: frozenset[str] = frozenset({"active", "proposed"})

SYSTEM_PROMPT = """\
You maintain a hierarchical knowledge base of rules for extracting product attributes. A new
learning must be placed. You are at one node of the category tree. Choose exactly one op:
- descend: the learning belongs deeper; target = the name of an existing child.
- create_branch: it belongs in a subcategory that does not exist yet; target = its short name.
- add: it is a new rule for this node; target empty.
- merge: an existing learning here says nearly the same thing; target = its id, and text (and
  example) = ONE rule that keeps everything both say, no longer than the originals together.
- replace: an existing learning here is wrong or outdated and the new one supersedes it;
  target = its id.
- discard: an existing learning here already says the same thing; target = its id.
Prefer merge over add when the rules overlap; prefer the most specific category that fits."""


class PlacementDecision(BaseModel):
    """The model's choice at one node of the tree."""

    op: PlacementOp = Field(description="What to do with the new learning at this node.")
    target: str = Field(
        default="",
        max_length=120,
        description=(
            "descend: an existing child's name; create_branch: the new child's name; "
            "merge/replace/discard: the id of a learning listed at this node; add: empty."
        ),
    )
    text: str = Field(
        default="",
        max_length=MAX_TEXT_CHARS,
        description="merge only: the merged rule, concrete and actionable.",
    )
    example: str = Field(
        default="",
        max_length=MAX_EXAMPLE_CHARS,
        description="merge only: one solved example for the merged rule (may be empty).",
    )
    reason: str = Field(default="", max_length=200, description="One short sentence: why.")


class PlacementStep(BaseModel):
    """One decision taken during a walk, and who took it."""

    node: str
    """Key of the node where the decision was taken."""
    op: PlacementOp
    target: str | None = None
    """Child key, or learning id, the decision points at."""
    by: DecidedBy
    reason: str = ""


class Placement(BaseModel):
    """Where a draft ended up, and how the memory manager got there."""

    op: FinalOp
    learning_id: str | None
    """The learning added, merged into, or replacing the old one; ``None`` for a discard."""
    duplicate_of: str | None = None
    """For a discard: the learning the draft duplicates."""
    node: str
    """Key of the node where the final op was applied."""
    steps: list[PlacementStep]
    fallback: str | None = None
    """Why the model's decision was not used, when the draft was added by the fallback."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens spent on placement decisions, over every model call."""
    model_calls: int = 0
    held: str | None = None
    """Why the learning waits for a person although the deployment would publish it (the gate
    failed or could not check it, or the case's text was held); ``None`` otherwise."""


class _Fallback(Exception):
    """A decision could not be used; the message says why."""


class MemoryManager:
    """Places supervisor learnings in a :class:`KnowledgeBase`, asking ``llm`` where needed.

    Args:
        kb: The knowledge base to write.
        llm: Model asked at nodes where the placement is a real choice; ``None`` places data
            learnings only as they need no model (a rule then falls back to its own node).
        actor: Name written into the history for its changes.
        person: ``actor`` is a person (a reviewer's answers): a proposed learning of the same
            data, when the gate passes it, is activated as confirmed by them.
        status: Status of placed learnings (``"proposed"`` when humans approve them first).
        activate_after: Later cases that must draft a proposed learning again (a discard as its
            duplicate, or a merge into it) before it becomes active; ``None``: never (only
            people activate it). See :class:`~dissensus.knowledge.DeploymentPolicy`.
        max_depth: Deepest node the walk may reach or create (the root is depth 0).
        max_tokens: Output budget of one decision.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        llm: LLM | None,
        *,
        actor: str = "memory-manager",
        person: bool = False,
        status: LearningStatus = "active",
        activate_after: int | None = None,
        max_depth: int = 6,
        max_tokens: int = 512,
        gate: LearningGate | None = None,
    ) -> None:
        self._kb = kb
        self._gate = gate
        self._llm = llm
        self._actor = actor
        self._person = person
        self._status: LearningStatus = status
        self._activate_after = activate_after
        self._max_depth = max_depth
        self._max_tokens = max_tokens

    @property
    def model_name(self) -> str:
        """The model that takes placement decisions (for cost accounting)."""
        return self._llm.name if self._llm is not None else "none"

    async def place(
        self, draft: LearningDraft, *, source: str, hold: str | None = None
    ) -> Placement:
        """Place one draft learning; ``source`` is the case id that produced it (provenance).

        ``hold`` is why the case's own text cannot be trusted (a suspected prompt injection):
        the learning is then placed ``proposed`` whatever the gate says, for a person to judge.
        """
        walk = _Walk(draft, source, _draft_path(draft))
        walk.status, walk.gate = await self._gated(draft, walk.path)
        if hold is not None and walk.status == "active":
            walk.status = "proposed"
            walk.gate = GateVerdict("failed", f"held for a person: the product's text has a {hold}")
        if walk.gate is not None and not walk.gate.passed:
            walk.held = walk.gate.describe()
        if draft.kind != "rule":
            return self._place_data(walk)
        try:
            return await self._walk(walk)
        except _Fallback as why:
            return self._fallback(walk, str(why))

    async def _gated(
        self, draft: LearningDraft, path: CategoryPath | None
    ) -> tuple[LearningStatus, GateVerdict | None]:
        """The status the draft gets: the deployment's, held at ``proposed`` by the gate."""
        if self._status != "active" or self._gate is None:
            return self._status, None
        known = self.known_values(path) if path is not None else None
        verdict = await self._gate.check(draft, known=known)
        return ("active" if verdict.passed else "proposed"), verdict

    def known_values(self, path: CategoryPath) -> Lexicon:
        """The category's active value learnings as a lexicon."""
        lexicon = Lexicon()
        for learning in self._kb.learned(path, "value"):
            lexicon.update(learning.values, max(1, len(learning.sources)))
        return lexicon

    def _place_data(self, walk: _Walk) -> Placement:
        """Place a value or example learning at its category's node; no model is asked."""
        key = self._kb.ensure_path(walk.path or CategoryPath(()), actor=self._actor)
        draft = walk.draft
        here = [
            lr for lr in self._kb.list(node_key=key) if lr.status in _LIVE and lr.kind == draft.kind
        ]
        duplicate = next((lr for lr in here if _same_data(lr, draft)), None)
        if duplicate is not None and self._person and duplicate.status == "proposed":
            if walk.status == "active":
                # A person's answer is the evidence the held learning waited for.
                walk.step(key, "discard", duplicate.id, "rule", f"{self._actor} confirms it")
                duplicate = self._kb.set_status(
                    duplicate.id, "active", self._actor, walk.reason(f"confirmed by {self._actor}")
                )
        elif (
            duplicate is not None
            and duplicate.status == "proposed"
            and walk.status == "active"
            and walk.gate is not None
            and walk.gate.passed
        ):
            # The gate passed this case's own draft (a later product where a worker seconded
            # the value, say): the gate, not the repetition, is what activates the held twin.
            duplicate = self._kb.set_status(
                duplicate.id,
                "active",
                self._actor,
                walk.reason(f"the gate passed it on {walk.source}"),
            )
        if duplicate is not None:
            walk.step(key, "discard", duplicate.id, "rule", f"same {draft.kind} already here")
            return self._discard(walk, key, duplicate, f"same {draft.kind} as {duplicate.id}")
        walk.step(key, "add", None, "rule", f"a {draft.kind} learning of its category")
        try:
            return self._add(
                walk,
                key,
                f"{draft.kind} of {walk.source}",
                unless=lambda live: next((lr for lr in live if _same_data(lr, draft)), None),
            )
        except DuplicateLearning as race:  # another process placed it since we looked
            walk.steps[-1] = PlacementStep(
                node=key, op="discard", target=race.existing.id, by="rule", reason="added meanwhile"
            )
            return self._discard(
                walk, key, race.existing, f"same {draft.kind} as {race.existing.id}"
            )

    # --- the walk -------------------------------------------------------------------------

    async def _walk(self, walk: _Walk) -> Placement:
        key = self._kb.ensure_path(CategoryPath(()), actor=self._actor)  # the root
        target_keys = walk.path.ancestor_keys() if walk.path else [ROOT_KEY]
        # The draft's own path may be deeper than max_depth (the schema decides categories);
        # only model-chosen moves are held to it. Depth grows every step, so this ends.
        bound = max(self._max_depth, len(target_keys) - 1)
        while True:
            depth = depth_of(key)
            if depth > bound:
                raise _Fallback(f"the walk reached {key}, deeper than {bound} levels")
            on_path = depth < len(target_keys) and target_keys[depth] == key
            next_key = target_keys[depth + 1] if on_path and depth + 1 < len(target_keys) else None
            learnings = [
                lr for lr in self._kb.list(node_key=key) if lr.status in _LIVE and lr.kind == "rule"
            ]

            duplicate = _exact_duplicate(walk.draft, learnings)
            if duplicate is not None:
                walk.step(key, "discard", duplicate.id, "rule", "same text already here")
                return self._discard(walk, key, duplicate, "exact duplicate of " + duplicate.id)

            related = [lr for lr in learnings if _shares_attributes(lr, walk.draft)]
            if not related:
                if next_key is None:
                    walk.step(key, "add", None, "rule", "no related learning; draft's own node")
                    return self._add(walk, key, "no related learning at the draft's category")
                children = {c.key for c in self._kb.children(key)}
                assert walk.path is not None  # next_key exists only on a real path
                if next_key in children:
                    walk.step(key, "descend", next_key, "rule", "no related learning; on path")
                else:
                    walk.step(key, "create_branch", next_key, "rule", "category path continues")
                    self._kb.ensure_child(
                        key, walk.path.parts[depth], actor=self._actor, reason=walk.why()
                    )
                key = next_key
                continue

            shown = _most_similar(walk.draft, related, learnings)
            decision = await self._decide(walk, key, shown)
            by_id = {lr.id: lr for lr in shown}
            key_or_final = self._apply(walk, key, on_path, next_key, decision, by_id)
            if isinstance(key_or_final, Placement):
                return key_or_final
            key = key_or_final

    async def _decide(self, walk: _Walk, key: str, shown: Sequence[Learning]) -> PlacementDecision:
        if self._llm is None:
            raise _Fallback("no model was given for placement decisions")
        children = self._kb.children(key)
        with calling_as("memory-manager", [lr.id for lr in shown]):
            answer = await self._llm.structured(
                PlacementDecision,
                system=SYSTEM_PROMPT,
                prompt=_prompt(walk, key, children, shown, can_branch=self._can_branch(key)),
                max_tokens=self._max_tokens,
            )
        walk.usage = walk.usage + answer.usage
        walk.calls += 1
        if answer.output is None:
            detail = f": {answer.error}" if answer.error else ""
            raise _Fallback(f"model {answer.model} abstained at {key}{detail}")
        return answer.output

    def _apply(
        self,
        walk: _Walk,
        key: str,
        on_path: bool,
        next_key: str | None,
        d: PlacementDecision,
        shown: dict[str, Learning],
    ) -> str | Placement:
        """Validate one model decision and carry it out: a node to go on from, or the end."""
        target = d.target.strip()
        draft = walk.draft
        if d.op == "descend":
            child = _find_child(self._kb.children(key), key, target)
            if child is None:
                raise _Fallback(f"descend target {target!r} is not a child of {key}")
            walk.step(key, "descend", child.key, "model", d.reason)
            return child.key
        if d.op == "create_branch":
            new_key = self._check_branch(walk, key, on_path, next_key, target)
            walk.step(key, "create_branch", new_key, "model", d.reason)
            return self._kb.ensure_child(key, target, actor=self._actor, reason=d.reason)
        if d.op == "add":
            walk.step(key, "add", None, "model", d.reason)
            return self._add(walk, key, d.reason)
        existing = shown.get(target)
        if existing is None:
            raise _Fallback(f"{d.op} target {target!r} is not a learning shown at {key}")
        if d.op in ("merge", "replace") and existing.approved:
            raise _Fallback(
                f"{existing.id} was approved by a person: a machine adds beside it, never "
                f"{d.op}s it"
            )
        if d.op in ("merge", "replace") and existing.status == "active" and walk.status != "active":
            raise _Fallback(
                f"{existing.id} is active and this draft did not pass the gate: it is proposed "
                "beside it instead"
            )
        try:
            if d.op == "merge":
                text, example = d.text.strip(), d.example.strip()
                if not text or len(text) > MAX_TEXT_CHARS or len(example) > MAX_EXAMPLE_CHARS:
                    raise _Fallback(
                        f"merged text for {existing.id} is empty or too long "
                        f"({len(text)}/{MAX_TEXT_CHARS} chars, example {len(example)})"
                    )
                walk.step(key, "merge", existing.id, "model", d.reason)
                merged = self._kb.merge(
                    existing.id,
                    text=text,
                    example=example or existing.example or draft.example,
                    attributes=_merged_attributes(existing.attributes, draft.attributes),
                    sources=[walk.source],
                    actor=self._actor,
                    reason=walk.reason(d.reason),
                )
                self._confirm(merged, walk.source)
                return walk.done("merge", merged.id, key)
            if d.op == "replace":
                walk.step(key, "replace", existing.id, "model", d.reason)
                new = self._kb.replace(
                    existing.id,
                    text=draft.text,
                    example=draft.example,
                    attributes=draft.attributes,
                    sources=[walk.source],
                    actor=self._actor,
                    reason=walk.reason(d.reason),
                    status=walk.status,
                )
                return walk.done("replace", new.id, key)
            if d.op == "discard":
                score = similarity(draft.text, existing.text)
                if score < DISCARD_SIMILARITY:
                    raise _Fallback(
                        f"discard as a duplicate of {existing.id} rejected: the texts share too "
                        f"few words ({score:.2f} < {DISCARD_SIMILARITY})"
                    )
                walk.step(key, "discard", existing.id, "model", d.reason)
                return self._discard(walk, key, existing, d.reason or "duplicate")
        except KnowledgeError as exc:
            # E.g. another process deprecated the target between our read and this write.
            raise _Fallback(f"{d.op} on {existing.id} failed: {exc}") from exc
        raise _Fallback(f"unknown op {d.op!r}")  # pragma: no cover - the Literal is closed

    def _check_branch(
        self, walk: _Walk, key: str, on_path: bool, next_key: str | None, name: str
    ) -> str:
        if not name or len(name) > MAX_BRANCH_NAME:
            raise _Fallback(f"branch name {name!r} is empty or longer than {MAX_BRANCH_NAME}")
        if not self._can_branch(key):
            raise _Fallback(f"a branch under {key} would be deeper than {self._max_depth}")
        new_key = child_key(key, name)
        if new_key == next_key:
            return new_key
        # Only the draft's own category path names nodes: a small model copied its prompt's
        # placeholder ("the name of an existing child") into the tree when it could do more.
        raise _Fallback(
            f"branch {name!r} under {key} is not the next category of {walk.draft.category!r}"
        )

    def _can_branch(self, key: str) -> bool:
        return depth_of(key) + 1 <= self._max_depth

    # --- final ops ------------------------------------------------------------------------

    def _add(
        self,
        walk: _Walk,
        key: str,
        reason: str,
        *,
        unless: Callable[[list[Learning]], Learning | None] | None = None,
    ) -> Placement:
        learning = self._kb.add(
            node_key=key,
            text=walk.draft.text,
            example=walk.draft.example,
            attributes=walk.draft.attributes,
            sources=[walk.source],
            actor=self._actor,
            status=walk.status,
            reason=walk.reason(reason),
            kind=walk.draft.kind,
            values=walk.draft.values,
            unless=unless,
        )
        return walk.done("add", learning.id, key)

    def _discard(self, walk: _Walk, key: str, duplicate: Learning, reason: str) -> Placement:
        self._kb.discard(reason, walk.draft, self._actor, node_key=key, duplicate_of=duplicate.id)
        self._confirm(duplicate, walk.source)
        placement = walk.done("discard", None, key)
        placement.duplicate_of = duplicate.id
        return placement

    def _confirm(self, learning: Learning, source: str) -> None:
        # A proposed learning drafted again by another case is a confirmation: it counts toward
        # deploy-and-learn's threshold and shows reviewers how many cases asked for it.
        if learning.status == "proposed":
            # Under the gate, repetition is no evidence: the same small supervisor drafting the
            # same value twice does not make it right. Only the gate or a person activates.
            activate_after = None if self._gate is not None else self._activate_after
            self._kb.confirm(learning.id, source, actor=self._actor, activate_after=activate_after)

    def _fallback(self, walk: _Walk, why: str) -> Placement:
        path = walk.path or CategoryPath(())
        key = self._kb.ensure_path(path, actor=self._actor)
        walk.step(key, "add", None, "fallback", why)
        placement = self._add(walk, key, f"fallback: {why}")
        placement.fallback = why
        return placement


class _Walk:
    """Mutable state of one placement: the draft, steps so far, model usage."""

    def __init__(self, draft: LearningDraft, source: str, path: CategoryPath | None) -> None:
        self.draft = draft
        self.source = source
        self.path = path
        self.steps: list[PlacementStep] = []
        self.usage = Usage()
        self.calls = 0
        self.status: LearningStatus = "proposed"
        """The status a new learning of this walk gets (the deployment's, after the gate)."""
        self.gate: GateVerdict | None = None
        self.held: str | None = None
        """Set when the gate (or a hold) kept a learning the deployment would publish."""

    def reason(self, reason: str) -> str:
        """The history reason of the final op, with the gate's verdict when there was one."""
        text = reason or self.why()
        return f"{text}; {self.gate.describe()}" if self.gate is not None else text

    def step(
        self, node: str, op: PlacementOp, target: str | None, by: DecidedBy, reason: str
    ) -> None:
        self.steps.append(PlacementStep(node=node, op=op, target=target, by=by, reason=reason))

    def why(self) -> str:
        return f"learning from {self.source}"

    def done(self, op: FinalOp, learning_id: str | None, node: str) -> Placement:
        return Placement(
            op=op,
            learning_id=learning_id,
            node=node,
            steps=list(self.steps),
            usage=self.usage,
            model_calls=self.calls,
            held=self.held,
        )


def _draft_path(draft: LearningDraft) -> CategoryPath | None:
    try:
        return CategoryPath.parse(draft.category)
    except ValueError:
        return None  # an empty category: the lesson applies everywhere, i.e. at the root


def _shares_attributes(learning: Learning, draft: LearningDraft) -> bool:
    # Either side without attributes applies to all attributes, so they overlap.
    return applies_to(learning.attributes, draft.attributes or None)


def _same_data(learning: Learning, draft: LearningDraft) -> bool:
    """A value learning with the same attribute and value, or an example of the same title."""
    if draft.kind == "value":
        return {a: value_tokens(v or "") for a, v in learning.values.items()} == {
            a: value_tokens(v or "") for a, v in draft.values.items()
        }
    return value_tokens(learning.text) == value_tokens(draft.text)


def _exact_duplicate(draft: LearningDraft, learnings: Sequence[Learning]) -> Learning | None:
    wanted = normalize_text(draft.text)
    return next((lr for lr in learnings if normalize_text(lr.text) == wanted), None)


def _merged_attributes(existing: Sequence[str], new: Sequence[str]) -> list[str]:
    if not existing or not new:
        return []  # one of them applies to every attribute, so the merged rule does too
    return list(dict.fromkeys([*existing, *new]))


def _most_similar(
    draft: LearningDraft, related: Sequence[Learning], learnings: Sequence[Learning]
) -> list[Learning]:
    # Related learnings first (same attributes), then by word overlap, to fit MAX_SHOWN.
    pool = list(related) + [lr for lr in learnings if lr not in related]
    pool.sort(key=lambda lr: (lr not in related, -similarity(draft.text, lr.text), lr.id))
    return pool[:MAX_SHOWN]


def _find_child(children: Sequence[NodeInfo], parent: str, target: str) -> NodeInfo | None:
    """The child a model meant: by display name, by key, or by the key its name slugs to."""
    if not target:
        return None
    wanted, slugged = target.casefold(), child_key(parent, target)
    return next(
        (c for c in children if wanted in (c.name.casefold(), c.key) or c.key == slugged), None
    )


def _prompt(
    walk: _Walk,
    key: str,
    children: Sequence[NodeInfo],
    shown: Sequence[Learning],
    *,
    can_branch: bool,
) -> str:
    draft = walk.draft
    ops = ["add", "merge", "replace", "discard"]
    if children:
        ops.insert(0, "descend")
    if can_branch:
        ops.insert(1 if children else 0, "create_branch")
    lines = [
        "NEW LEARNING",
        f"category: {draft.category}",
        f"attributes: {', '.join(draft.attributes) or '(all)'}",
        f"text: {draft.text}",
        f"example: {draft.example or '(none)'}",
        "",
        f"CURRENT NODE: {key}",
        "children: "
        + (", ".join(f"{c.name} ({c.active} learnings)" for c in children) or "(none)"),
        "learnings here:",
        *(lr.render() for lr in shown),
        "",
        f"Allowed ops: {', '.join(ops)}.",
    ]
    return "\n".join(lines)
