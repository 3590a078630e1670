"""Where workers' track records live: how the supervisor ruled on their lone values.

A learning run adds one ruling per resolved lone value (see ``consensus.routes`` for what
consensus does with them). The counters sit beside the knowledge tree, keyed by a node's key,
so a checkpoint copy of the database carries them and a run with learning off reads them
without adding to them — like every other learning, they change only while a run learns.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dissensus.domain import RouteKey, TrackCounts
from dissensus.storage import Database, utcnow
from dissensus.storage.tables import TrackRecordRow

__all__ = ["Ruling", "TrackRecords"]

Ruling = tuple[str, str, TrackCounts]
"""(attribute, role, counts): one resolution of one worker's lone value, as a count of one."""


class TrackRecords:
    """The track-record counters of every category, in the run's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def for_category(self, key: str) -> dict[RouteKey, TrackCounts]:
        """The counters of the node ``key`` (exactly that node: categories differ in how
        their attributes read, so a parent's record says nothing about a child's)."""
        with self._db.read() as session:
            rows = session.scalars(select(TrackRecordRow).where(TrackRecordRow.category == key))
            return {
                (r.attribute, r.role): TrackCounts(r.upheld, r.absent, r.replaced) for r in rows
            }

    def add(self, key: str, rulings: Iterable[Ruling]) -> None:
        """Count the rulings of one case, in one transaction."""
        counted: dict[RouteKey, TrackCounts] = {}
        for attribute, role, one in rulings:
            counted[(attribute, role)] = counted.get((attribute, role), TrackCounts()) + one
        if not counted:
            return
        try:
            with self._db.write() as session:
                self._add(session, key, counted)
        except IntegrityError:
            # Another process inserted the same counter first (PostgreSQL); now it exists.
            with self._db.write() as session:
                self._add(session, key, counted)

    def _add(self, session: Session, key: str, counted: dict[RouteKey, TrackCounts]) -> None:
        for (attribute, role), counts in counted.items():
            # An increment in SQL, so two writers never lose a ruling.
            done = session.execute(
                update(TrackRecordRow)
                .where(
                    TrackRecordRow.category == key,
                    TrackRecordRow.attribute == attribute,
                    TrackRecordRow.role == role,
                )
                .values(
                    upheld=TrackRecordRow.upheld + counts.upheld,
                    absent=TrackRecordRow.absent + counts.absent,
                    replaced=TrackRecordRow.replaced + counts.replaced,
                    updated_at=utcnow(),
                )
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                session.add(
                    TrackRecordRow(
                        category=key,
                        attribute=attribute,
                        role=role,
                        upheld=counts.upheld,
                        absent=counts.absent,
                        replaced=counts.replaced,
                    )
                )
                session.flush()
