"""Row-level helpers of the knowledge base: conversions, checks, event rows, node summaries.

Internal: they take an open session and never commit, so :class:`KnowledgeBase` keeps each
public method one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dissensus.domain import Learning, LearningStatus
from dissensus.errors import KnowledgeError, UnknownLearningError
from dissensus.knowledge.history import EventOp
from dissensus.knowledge.tree import NodeInfo, depth_of, parent_of
from dissensus.storage import KbEvent, KbNode, LearningRow, utcnow

__all__ = [
    "MAX_EXAMPLE_CHARS",
    "MAX_TEXT_CHARS",
    "check_text",
    "node_infos",
    "record",
    "snapshot",
    "to_learning",
    "union",
    "unknown_learning",
]

MAX_TEXT_CHARS = 400
"""Longest rule text a learning may carry (as for ``LearningDraft``): prompts stay small."""
MAX_EXAMPLE_CHARS = 300


def to_learning(row: LearningRow) -> Learning:
    """The domain view of a learning row."""
    return Learning(
        id=row.id,
        node=row.node_key,
        attributes=list(row.attributes),
        text=row.text,
        example=row.example,
        kind=row.kind or "rule",  # type: ignore[arg-type]  # the column only holds the Literal
        values=dict(row.values or {}),
        status=row.status,  # type: ignore[arg-type]  # the column only ever holds the Literal
        approved=bool(row.approved),
        version=row.version,
        sources=list(row.sources),
        uses=row.uses,
        helpful=row.helpful or 0,
        harmful=row.harmful or 0,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def snapshot(row: LearningRow) -> dict[str, Any]:
    """A learning as JSON, for an event's ``before``/``after``."""
    return to_learning(row).model_dump(mode="json")


def union(*lists: Iterable[str]) -> list[str]:
    """Order-preserving union without duplicates: provenance reads oldest case first."""
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)


def check_text(text: str, example: str, *, what: str) -> tuple[str, str]:
    """Strip and bound a learning's text and example; raise :class:`KnowledgeError` if unfit."""
    text, example = text.strip(), example.strip()
    if not text:
        raise KnowledgeError(f"{what}: the learning text is empty; give the rule to apply")
    if len(text) > MAX_TEXT_CHARS:
        raise KnowledgeError(
            f"{what}: the learning text has {len(text)} characters; shorten it to at most "
            f"{MAX_TEXT_CHARS} (one concrete rule per learning)"
        )
    if len(example) > MAX_EXAMPLE_CHARS:
        raise KnowledgeError(
            f"{what}: the example has {len(example)} characters; shorten it to at most "
            f"{MAX_EXAMPLE_CHARS}"
        )
    return text, example


def record(
    session: Session,
    op: EventOp,
    actor: str,
    reason: str,
    *,
    learning_id: str | None = None,
    node_key: str | None = None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> KbEvent:
    """Append one history event inside the caller's transaction."""
    event = KbEvent(
        actor=actor,
        op=op,
        learning_id=learning_id,
        node_key=node_key,
        before=before,
        after=after,
        reason=reason,
    )
    session.add(event)
    session.flush()
    return event


def node_infos(session: Session, rows: Sequence[KbNode]) -> list[NodeInfo]:
    """Describe nodes with their learning counts by status (one grouped query)."""
    if not rows:
        return []
    keys = [r.key for r in rows]
    counts: dict[str, dict[LearningStatus, int]] = {k: {} for k in keys}
    grouped = session.execute(
        select(LearningRow.node_key, LearningRow.status, func.count())
        .where(LearningRow.node_key.in_(keys))
        .group_by(LearningRow.node_key, LearningRow.status)
    )
    for node_key, status, count in grouped:
        counts[node_key][cast(LearningStatus, status)] = count
    return [
        NodeInfo(
            key=r.key,
            name=r.name,
            depth=depth_of(r.key),
            parent=r.parent_key if r.parent_key is not None else parent_of(r.key),
            counts=counts[r.key],
        )
        for r in rows
    ]


def record_change(
    session: Session,
    op: EventOp,
    actor: str,
    reason: str,
    row: LearningRow,
    before: dict[str, Any] | None,
) -> KbEvent:
    """The history event of a change to ``row`` (its state now is the event's ``after``)."""
    return record(
        session,
        op,
        actor,
        reason,
        learning_id=row.id,
        node_key=row.node_key,
        before=before,
        after=snapshot(row),
    )


def deprecate_row(session: Session, row: LearningRow, actor: str, reason: str) -> None:
    """Deprecate a learning inside the caller's transaction, with its ``status`` event: the
    one way compaction, measured effects and reviewed outcomes retire a learning."""
    before = snapshot(row)
    row.status = "deprecated"
    row.updated_at = utcnow()
    session.flush()
    record_change(session, "status", actor, reason, row, before)


def unknown_learning(learning_id: str) -> UnknownLearningError:
    """The error for an id no learning has, naming the commands that list the ids."""
    return UnknownLearningError(
        f"learning {learning_id!r} does not exist; see `dissensus kb tree` or "
        "`dissensus kb pending` for the ids"
    )
