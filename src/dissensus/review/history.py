"""A record's value history: who changed which value, from what, when, and from which review.

The run's values come from model calls (the call log has them); every later change is a
person's, through a review submission or by putting an earlier value back (:func:`restore`).
Both write a :class:`ValueChange` per attribute in the same transaction as the change, so the
history is complete by construction.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dissensus.domain import AttributeResult, EnrichedRecord
from dissensus.errors import ReviewError, UnknownRunError
from dissensus.storage import Database
from dissensus.storage.tables import RunProduct, ValueChangeRow, utcnow

__all__ = ["ValueChange", "record_changes", "restore", "value_history"]


class ValueChange(BaseModel):
    """One attribute of one record changed by a person."""

    id: int
    run_id: str
    seq: int
    attribute: str
    before_value: str | None
    before_status: str | None
    after_value: str | None
    after_status: str
    actor: str
    source: str
    at: datetime


def record_changes(
    session: Session,
    *,
    run_id: str,
    seq: int,
    before: EnrichedRecord,
    after: EnrichedRecord,
    actor: str,
    source: str,
    at: datetime | None = None,
) -> int:
    """Write a change for every attribute whose value or status differs; returns how many."""
    written = 0
    for name, now in after.attributes.items():
        was = before.attributes.get(name)
        if was is not None and (was.value, was.status) == (now.value, now.status):
            continue
        session.add(
            ValueChangeRow(
                run_id=run_id,
                seq=seq,
                attribute=name,
                before_value=was.value if was is not None else None,
                before_status=was.status if was is not None else None,
                after_value=now.value,
                after_status=now.status,
                actor=actor,
                source=source[:64],
                at=at or utcnow(),
            )
        )
        written += 1
    return written


def value_history(db: Database, run_id: str, seq: int) -> list[ValueChange]:
    """The record's changes, oldest first."""
    with db.read() as session:
        rows = session.scalars(
            select(ValueChangeRow)
            .where(ValueChangeRow.run_id == run_id, ValueChangeRow.seq == seq)
            .order_by(ValueChangeRow.id)
        )
        return [
            ValueChange(
                id=r.id, run_id=r.run_id, seq=r.seq, attribute=r.attribute,
                before_value=r.before_value, before_status=r.before_status,
                after_value=r.after_value, after_status=r.after_status, actor=r.actor,
                source=r.source, at=r.at,
            )
            for r in rows
        ]  # fmt: skip


def restore(
    db: Database, run_id: str, seq: int, attribute: str, value: str | None, *, actor: str
) -> EnrichedRecord:
    """Put ``value`` back as ``attribute``'s value (a person's: status ``human``).

    Raises:
        UnknownRunError: the run has no such record.
        ReviewError: the record has no such attribute, or no actor was named.
    """
    actor = actor.strip()
    if not actor:
        raise ReviewError("a restored value needs the name of who restored it")
    with db.write() as session:
        stored = session.get(RunProduct, (run_id, seq), with_for_update=True)
        if stored is None:
            raise UnknownRunError(f"run {run_id!r} has no record {seq}")
        before = EnrichedRecord.model_validate(stored.output)
        if attribute not in before.attributes:
            known = ", ".join(before.attributes) or "none"
            raise ReviewError(
                f"record {run_id}#{seq} has no attribute {attribute!r}; it has: {known}"
            )
        after = before.model_copy(deep=True)
        after.attributes[attribute] = AttributeResult(
            value=value, status="human", confidence=1.0, learnings=[]
        )
        stored.output = after.model_dump(mode="json")
        record_changes(
            session, run_id=run_id, seq=seq, before=before, after=after, actor=actor,
            source="restore",
        )  # fmt: skip
        return after
