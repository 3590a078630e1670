"""The knowledge base's append-only history: one event per change, who, what, before, after.

A KB version is the ``seq`` of its last event, so audits, diffs and rollbacks are queries over
these events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from dissensus.storage import KbEvent

__all__ = ["Event", "EventOp"]

EventOp = Literal[
    "create_node",
    "delete_node",
    "add",
    "merge",
    "replace",
    "discard",
    "status",
    "edit",
    "confirm",
    "approve",
    "promote",
    "rollback",
    "import",
    "flag",
]
"""The kinds of change the knowledge base records.

Every op but ``discard`` (and ``replace``, which also deprecates ``before``) sets the learning
(or, for ``create_node``/``delete_node``, the node) named by the event to ``after``; ``None``
removes it; ``flag`` (a contradiction or a measured effect sent to review) leaves the learning
as it is (``after`` = its unchanged state). :mod:`dissensus.knowledge.versions` replays them
to rebuild any version.
"""


class Event(BaseModel):
    """One recorded change to the knowledge base."""

    seq: int
    """Position in the history; the KB version right after this change."""
    at: datetime
    actor: str
    """Who made the change: ``memory-manager``, ``supervisor``, or a user name."""
    op: str
    """One of :data:`EventOp` (kept a plain string so rows written by newer code still load)."""
    learning_id: str | None = None
    node_key: str | None = None
    before: dict[str, Any] | None = None
    """The learning (or node) as it was, as JSON; ``None`` when it did not exist."""
    after: dict[str, Any] | None = None
    """The learning (or node, or discarded draft) as it became, as JSON."""
    reason: str = ""

    @classmethod
    def from_row(cls, row: KbEvent) -> Event:
        return cls(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            op=row.op,
            learning_id=row.learning_id,
            node_key=row.node_key,
            before=row.before,
            after=row.after,
            reason=row.reason,
        )
