"""Knowledge-base versions: the state at any version, diffs between versions, learning versions.

The KB version is the ``seq`` of the last history event. Every event but ``discard`` sets one
learning (or node) to its ``after`` snapshot, so replaying events ``1..V`` rebuilds the exact
state at version ``V``; :func:`state_at` does that, :func:`current_state` reads the tables, and
both give equal :class:`KbState` objects at the head version (a test holds them to it). Usage
counters are not versioned: they count prompts, not decisions, and are left out of states.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from dissensus.domain import Learning
from dissensus.errors import KnowledgeError
from dissensus.knowledge._rows import to_learning
from dissensus.knowledge.history import Event
from dissensus.knowledge.tree import depth_of
from dissensus.storage import KbEvent, KbNode, LearningRow

__all__ = [
    "KbDiff",
    "KbState",
    "LearningChange",
    "LearningVersion",
    "NodeState",
    "current_state",
    "diff_states",
    "head_version",
    "learning_versions",
    "state_at",
]

_NODE_OPS = frozenset({"create_node", "delete_node"})
_COMPARED = (
    "node",
    "status",
    "approved",
    "kind",
    "text",
    "example",
    "values",
    "attributes",
    "sources",
    "version",
)
"""Learning fields a diff reports by name (timestamps change with them and are not listed)."""


class NodeState(BaseModel):
    """A node of the tree as versioned: its key, display name and parent."""

    key: str
    name: str
    parent_key: str | None = None


class KbState(BaseModel):
    """The whole knowledge base at one version: every node and every learning (uses zeroed)."""

    version: int
    """The ``seq`` of the last event included."""
    nodes: dict[str, NodeState] = Field(default_factory=dict)
    learnings: dict[str, Learning] = Field(default_factory=dict)

    def same_content(self, other: KbState) -> bool:
        """True when both hold the same nodes and learnings, whatever their version numbers."""
        return self.nodes == other.nodes and self.learnings == other.learnings


class LearningChange(BaseModel):
    """How one learning differs between two versions."""

    id: str
    before: Learning | None
    """The learning at the older version; ``None`` when it did not exist yet."""
    after: Learning | None
    """The learning at the newer version; ``None`` when it no longer exists."""
    fields: list[str] = Field(default_factory=list)
    """Changed fields, for a learning present at both versions."""

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


class KbDiff(BaseModel):
    """What changed between two KB versions."""

    from_version: int
    to_version: int
    nodes_added: list[NodeState] = Field(default_factory=list)
    nodes_removed: list[NodeState] = Field(default_factory=list)
    learnings: list[LearningChange] = Field(default_factory=list)
    """One entry per learning that differs, ordered by node then id."""
    events: list[Event] = Field(default_factory=list)
    """The events between the two versions (``from`` exclusive, ``to`` inclusive), oldest first;
    empty when ``from_version > to_version``."""

    @property
    def empty(self) -> bool:
        """True when both versions hold the same knowledge."""
        return not (self.nodes_added or self.nodes_removed or self.learnings)


class LearningVersion(BaseModel):
    """One recorded state of a learning: after the event ``seq``."""

    seq: int
    at: datetime
    actor: str
    op: str
    reason: str = ""
    learning: Learning


# --- building states ------------------------------------------------------------------------


def head_version(session: Session) -> int:
    """The current KB version (0 for an empty history)."""
    return session.scalar(select(func.max(KbEvent.seq))) or 0


def check_version(session: Session, version: int) -> int:
    """Return ``version`` if it exists in the history; raise :class:`KnowledgeError` if not."""
    head = head_version(session)
    if not 0 <= version <= head:
        raise KnowledgeError(
            f"knowledge-base version {version} does not exist; versions run from 0 to {head} "
            "(see `dissensus kb history`)"
        )
    return version


def current_state(session: Session) -> KbState:
    """The knowledge base as the tables hold it now."""
    nodes = {
        n.key: NodeState(key=n.key, name=n.name, parent_key=n.parent_key)
        for n in session.scalars(select(KbNode))
    }
    learnings = {r.id: _versioned(to_learning(r)) for r in session.scalars(select(LearningRow))}
    return KbState(version=head_version(session), nodes=nodes, learnings=learnings)


def state_at(session: Session, version: int) -> KbState:
    """The knowledge base exactly as it was right after event ``version`` (0: empty)."""
    check_version(session, version)
    events = session.scalars(select(KbEvent).where(KbEvent.seq <= version).order_by(KbEvent.seq))
    state = KbState(version=version)
    for event in events:
        _apply(state, event.op, event.learning_id, event.node_key, event.before, event.after)
    return state


def _apply(
    state: KbState,
    op: str,
    learning_id: str | None,
    node_key: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    if op == "discard":
        return
    if op in _NODE_OPS:
        if node_key is None:
            return
        if after is None:
            state.nodes.pop(node_key, None)
        else:
            state.nodes[node_key] = NodeState.model_validate(after)
        return
    if learning_id is None:
        return
    if after is None:
        state.learnings.pop(learning_id, None)
        return
    new = _versioned(Learning.model_validate(after))
    if op == "replace" and before is not None:
        # The replaced learning was deprecated in the same transaction, stamped with the time
        # the new one was created (KnowledgeBase.replace).
        old = _versioned(Learning.model_validate(before))
        state.learnings[old.id] = old.model_copy(
            update={"status": "deprecated", "updated_at": new.created_at}
        )
    state.learnings[learning_id] = new


def _versioned(learning: Learning) -> Learning:
    return learning.model_copy(update={"uses": 0}) if learning.uses else learning


# --- comparing ------------------------------------------------------------------------------


def diff_states(old: KbState, new: KbState, events: Iterable[Event] = ()) -> KbDiff:
    """What changed from ``old`` to ``new``: nodes added or removed, learnings that differ."""
    changes: list[LearningChange] = []
    for learning_id in sorted(set(old.learnings) | set(new.learnings)):
        before, after = old.learnings.get(learning_id), new.learnings.get(learning_id)
        if before == after:
            continue
        fields = (
            [f for f in _COMPARED if getattr(before, f) != getattr(after, f)]
            if before is not None and after is not None
            else []
        )
        changes.append(LearningChange(id=learning_id, before=before, after=after, fields=fields))
    changes.sort(key=lambda c: ((c.after or c.before).node.split("/"), c.id))  # type: ignore[union-attr]
    return KbDiff(
        from_version=old.version,
        to_version=new.version,
        nodes_added=_by_key(new.nodes[k] for k in set(new.nodes) - set(old.nodes)),
        nodes_removed=_by_key(old.nodes[k] for k in set(old.nodes) - set(new.nodes)),
        learnings=changes,
        events=list(events),
    )


def events_between(session: Session, low: int, high: int) -> list[Event]:
    """Events with ``low < seq <= high``, oldest first."""
    rows = session.scalars(
        select(KbEvent).where(KbEvent.seq > low, KbEvent.seq <= high).order_by(KbEvent.seq)
    )
    return [Event.from_row(r) for r in rows]


def learning_versions(session: Session, learning_id: str) -> list[LearningVersion]:
    """Every recorded state of one learning, oldest first.

    Includes its deprecation by a ``replace``; a removal (a rollback to before it existed)
    leaves no state and is not listed.
    """
    # A replace is filed under the new id; the old id is only inside ``before``.
    rows = session.scalars(
        select(KbEvent)
        .where(
            or_(
                KbEvent.learning_id == learning_id,
                and_(
                    KbEvent.op == "replace",
                    cast(KbEvent.before, Text).contains(f'"{learning_id}"'),
                ),
            )
        )
        .order_by(KbEvent.seq)
    )
    versions: list[LearningVersion] = []
    for row in rows:
        if row.op == "discard":
            continue
        state = KbState(version=row.seq)
        _apply(state, row.op, row.learning_id, row.node_key, row.before, row.after)
        learning = state.learnings.get(learning_id)
        if learning is None:
            continue
        versions.append(
            LearningVersion(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                op=row.op,
                reason=row.reason,
                learning=learning,
            )
        )
    return versions


def _by_key(nodes: Iterable[NodeState]) -> list[NodeState]:
    return sorted(nodes, key=lambda n: (depth_of(n.key), n.key))
