"""The review queue: a table of items with atomic claims and a visibility timeout.

A claim is one statement that picks the first claimable item and marks it claimed:
``UPDATE review_items SET ... WHERE id = (SELECT id ... LIMIT 1 [FOR UPDATE SKIP LOCKED])
RETURNING id``. On SQLite, write transactions are serialized (``BEGIN IMMEDIATE``), so two
claimants can never pick the same row; on PostgreSQL, ``FOR UPDATE SKIP LOCKED`` makes a second
claimant skip the row the first one is taking instead of waiting for it. A claimed item that is
not submitted before ``claim_expires_at`` is claimable again: nothing has to sweep the table.

Submitting rewrites the stored output record (the reviewed attributes become ``status: human``
with confidence 1.0) and closes the item in one transaction; an optional learning is then placed
in the knowledge base by the memory manager as ``proposed``, attributed to the reviewer.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Unpack

from sqlalchemy import ColumnElement, Executable, Text, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from dissensus.config import Settings
from dissensus.domain import (
    AttributeResult,
    AttributeSpec,
    EnrichedRecord,
    LearningDraft,
    Product,
)
from dissensus.errors import ReviewError, UnknownReviewItemError, UnknownRunError
from dissensus.knowledge import KnowledgeBase, MemoryManager, record_review_outcomes
from dissensus.llm import LLM
from dissensus.review.history import record_changes
from dissensus.review.item import (
    REASON_PRIORITY,
    QueueFilters,
    QueueStats,
    ReviewContext,
    ReviewDetail,
    ReviewItem,
    ReviewReason,
    ReviewState,
    ReviewTicket,
    SignalNote,
    Submission,
    SubmitResult,
    SupervisorView,
)
from dissensus.review.teaching import ReviewTeacher
from dissensus.storage import Database
from dissensus.storage.tables import ReviewItemRow, Run, RunProduct, utcnow

__all__ = ["DEFAULT_CLAIM_TIMEOUT", "ReviewQueue"]

DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=30)

Clock = Callable[[], datetime]


class ReviewQueue:
    """The human review queue in a dissensus database.

    Args:
        db: The database holding the runs whose records are reviewed.
        claim_timeout: How long a claim lasts before the item returns to the queue.
        clock: The current time (tests move it to expire claims).
        teacher: What submissions teach the knowledge base by default (``None``: nothing
            beyond the reviewer's optional learning text).
    """

    def __init__(
        self,
        db: Database,
        *,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        clock: Clock = utcnow,
        teacher: ReviewTeacher | None = None,
    ) -> None:
        if claim_timeout <= timedelta(0):
            raise ReviewError(f"claim timeout must be positive, not {claim_timeout}")
        self.db = db
        self.claim_timeout = claim_timeout
        self._clock = clock
        self.teacher = teacher

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> ReviewQueue:
        """The queue with the claim timeout of ``settings.review``, teaching when it says so."""
        teacher = (
            ReviewTeacher(KnowledgeBase(db), status=settings.deployment().authored_status)
            if settings.review.teach
            else None
        )
        return cls(
            db, claim_timeout=timedelta(minutes=settings.review.claim_minutes), teacher=teacher
        )

    # --- filling the queue ----------------------------------------------------------------

    def add(self, session: Session, ticket: ReviewTicket, *, run_id: str, seq: int) -> None:
        """Enqueue inside the caller's transaction (the runner's: with the output record).

        The output record ``(run_id, seq)`` must be in the same session or already stored.
        """
        session.flush()  # the output row first: the item's foreign key points at it
        session.add(
            ReviewItemRow(
                run_id=run_id,
                seq=seq,
                product_id=ticket.context.record.id,
                category=ticket.context.record.category,
                reason=ticket.reason,
                priority=REASON_PRIORITY[ticket.reason],
                attributes=list(ticket.attributes),
                context=ticket.context.model_dump(mode="json"),
                state="open",
                claims=0,
            )
        )

    def raise_signal(
        self,
        *,
        run_id: str,
        seq: int,
        product: Product,
        attributes: builtins.list[AttributeSpec],
        notes: builtins.list[SignalNote],
        supervisor: SupervisorView | None = None,
    ) -> int:
        """Put a record a seller or customer contested, and the supervisor upheld, on the desk.

        A record has one item: a new one is opened with reason ``signal``; an open or claimed
        one gets the signals and attributes added (and the higher priority); a done one is
        opened again, its earlier answer kept in the record's value history. The published
        value stays as it is until a person decides. Returns the item id.

        Raises:
            UnknownRunError: the run has no such record.
        """
        names = list(dict.fromkeys(n.attribute for n in notes))
        with self.db.write() as session:
            stored = session.get(RunProduct, (run_id, seq))
            if stored is None:
                raise UnknownRunError(f"run {run_id!r} has no output record #{seq}")
            record = EnrichedRecord.model_validate(stored.output)
            row = session.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.run_id == run_id, ReviewItemRow.seq == seq)
                .with_for_update()
            ).first()
            if row is None:
                context = ReviewContext(
                    product=product,
                    attributes=attributes,
                    supervisor=supervisor,
                    record=record,
                    signals=notes,
                )
                self.add(
                    session,
                    ReviewTicket(reason="signal", attributes=names, context=context),
                    run_id=run_id,
                    seq=seq,
                )
                session.flush()
                row = session.scalars(
                    select(ReviewItemRow).where(
                        ReviewItemRow.run_id == run_id, ReviewItemRow.seq == seq
                    )
                ).one()
                return row.id
            context = ReviewContext.model_validate(row.context)
            context.signals = [*context.signals, *notes]
            context.record = record  # what a person would now change
            if supervisor is not None:
                context.supervisor = supervisor
            known = {a.name for a in context.attributes}
            context.attributes = [
                *context.attributes,
                *(a for a in attributes if a.name not in known),
            ]
            row.context = context.model_dump(mode="json")
            row.attributes = list(dict.fromkeys([*row.attributes, *names]))
            if row.priority > REASON_PRIORITY["signal"]:
                row.priority = REASON_PRIORITY["signal"]
                row.reason = "signal"
            if row.state == "done":
                row.reason = "signal"
                row.priority = REASON_PRIORITY["signal"]
                row.state = "open"
                row.claimed_by = None
                row.claim_expires_at = None
                row.closed_at = None
                row.closed_by = None
                row.submission = None
            return row.id

    def enqueue(self, ticket: ReviewTicket, *, run_id: str, seq: int) -> int:
        """Enqueue a stored output record in a transaction of its own; returns the item id.

        Raises:
            ReviewError: The record does not exist or already has a review item.
        """
        with self.db.write() as session:
            if session.get(RunProduct, (run_id, seq)) is None:
                raise ReviewError(f"run {run_id!r} has no output record #{seq} to review")
            existing = session.scalar(
                select(ReviewItemRow.id).where(
                    ReviewItemRow.run_id == run_id, ReviewItemRow.seq == seq
                )
            )
            if existing is not None:
                raise ReviewError(f"output record {run_id}#{seq} is already review item {existing}")
            self.add(session, ticket, run_id=run_id, seq=seq)
            session.flush()
            return int(
                session.scalar(
                    select(ReviewItemRow.id).where(
                        ReviewItemRow.run_id == run_id, ReviewItemRow.seq == seq
                    )
                )
                or 0
            )

    def maturity_for(self, run_id: str) -> Callable[[str], int]:
        """A cached lookup: category → its products in runs completed before ``run_id`` began.

        Fixed for the run (later runs finishing do not count), so audit sampling is the same
        however often the run is resumed.
        """
        with self.db.read() as session:
            started = session.scalar(select(Run.created_at).where(Run.id == run_id))

        @cache
        def maturity(category: str) -> int:
            if started is None:
                return 0
            with self.db.read() as session:
                count = session.scalar(
                    select(func.count())
                    .select_from(RunProduct)
                    .join(Run, Run.id == RunProduct.run_id)
                    .where(
                        RunProduct.category == category,
                        Run.id != run_id,
                        Run.status == "completed",
                        Run.finished_at < started,
                    )
                )
            return int(count or 0)

        return maturity

    # --- reading --------------------------------------------------------------------------

    def list(
        self, *, limit: int = 100, offset: int = 0, **where: Unpack[QueueFilters]
    ) -> builtins.list[ReviewItem]:
        """Items in claim order (priority, then oldest first), filtered by ``where``
        (:class:`QueueFilters`)."""
        now = self._clock()
        query = self._filtered(select(ReviewItemRow), now, where)
        query = query.order_by(ReviewItemRow.priority, ReviewItemRow.id)
        with self.db.read() as session:
            rows = session.scalars(query.limit(limit).offset(offset)).all()
            return [_item(row, now) for row in rows]

    def count(self, **where: Unpack[QueueFilters]) -> int:
        """How many items :meth:`list` would page through with the same filters."""
        now = self._clock()
        counted = self._filtered(select(func.count()).select_from(ReviewItemRow), now, where)
        with self.db.read() as session:
            return int(session.scalar(counted) or 0)

    @staticmethod
    def _filtered(query: Any, now: datetime, where: QueueFilters) -> Any:
        if (state := where.get("state")) is not None:
            query = query.where(_in_state(state, now))
        if (run_id := where.get("run_id")) is not None:
            query = query.where(ReviewItemRow.run_id == run_id)
        if (reason := where.get("reason")) is not None:
            query = query.where(ReviewItemRow.reason == reason)
        if category := where.get("category"):
            query = query.where(
                or_(
                    ReviewItemRow.category == category,
                    ReviewItemRow.category.startswith(f"{category} >", autoescape=True),
                )
            )
        text = where.get("query")
        if text and text.strip():
            needle = text.strip().lower()
            query = query.where(
                or_(
                    func.lower(ReviewItemRow.product_id).contains(needle, autoescape=True),
                    func.lower(cast(ReviewItemRow.context, Text)).contains(needle, autoescape=True),
                )
            )
        return query

    def get(self, item_id: int) -> ReviewDetail:
        """One item with its context and the output record as stored now."""
        with self.db.read() as session:
            row = _require(session, item_id)
            return self._detail(session, row)

    def stats(self) -> QueueStats:
        """How many items are open, claimed, done (and expired), and pending per reason."""
        now = self._clock()
        stats = QueueStats()
        with self.db.read() as session:
            for state in ("open", "claimed", "done"):
                n = session.scalar(
                    select(func.count()).select_from(ReviewItemRow).where(_in_state(state, now))
                )
                setattr(stats, state, int(n or 0))
            stats.expired = int(
                session.scalar(select(func.count()).select_from(ReviewItemRow).where(_expired(now)))
                or 0
            )
            pending = session.execute(
                select(ReviewItemRow.reason, func.count())
                .where(ReviewItemRow.state != "done")
                .group_by(ReviewItemRow.reason)
            )
            for reason, n in pending:
                stats.pending_by_reason[_reason(reason)] = int(n)
        return stats

    # --- claiming -------------------------------------------------------------------------

    def claim_next(
        self,
        *,
        reviewer: str,
        run_id: str | None = None,
        reason: ReviewReason | None = None,
    ) -> ReviewDetail | None:
        """Claim the first claimable item for ``reviewer``; ``None`` when the queue is empty.

        No two reviewers ever get the same item while a claim lasts (see the module docstring).
        """
        reviewer = _reviewer(reviewer)
        now = self._clock()
        pick = select(ReviewItemRow.id).where(_claimable(now))
        if run_id is not None:
            pick = pick.where(ReviewItemRow.run_id == run_id)
        if reason is not None:
            pick = pick.where(ReviewItemRow.reason == reason)
        pick = (
            pick.order_by(ReviewItemRow.priority, ReviewItemRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self.db.write() as session:
            item_id = session.execute(
                self._claim_statement(ReviewItemRow.id == pick.scalar_subquery(), reviewer, now)
            ).scalar_one_or_none()
            if item_id is None:
                return None
            return self._detail(session, _require(session, item_id))

    def claim(self, item_id: int, *, reviewer: str) -> ReviewDetail:
        """Claim one item by id (or extend the reviewer's own claim).

        Raises:
            ReviewError: It does not exist, is done, or someone else holds a live claim.
        """
        reviewer = _reviewer(reviewer)
        now = self._clock()
        with self.db.write() as session:
            where = and_(
                ReviewItemRow.id == item_id,
                or_(
                    _claimable(now),
                    and_(ReviewItemRow.state == "claimed", ReviewItemRow.claimed_by == reviewer),
                ),
            )
            claimed = session.execute(
                self._claim_statement(where, reviewer, now)
            ).scalar_one_or_none()
            row = _require(session, item_id)
            if claimed is None:
                _refuse(row, reviewer, now, "claim")
            return self._detail(session, row)

    def release(self, item_id: int, *, reviewer: str) -> ReviewItem:
        """Give a claimed item back to the queue before its claim expires.

        Raises:
            ReviewError: The item does not exist or ``reviewer`` does not hold it.
        """
        reviewer = _reviewer(reviewer)
        now = self._clock()
        with self.db.write() as session:
            row = _require(session, item_id, lock=True)
            if row.state != "claimed" or row.claimed_by != reviewer:
                held = (
                    f"it is claimed by {row.claimed_by!r} (--reviewer names who releases it)"
                    if row.state == "claimed"
                    else f"it is {row.state}, not claimed"
                )
                raise ReviewError(f"review item {item_id} is not claimed by {reviewer!r}: {held}")
            row.state = "open"
            row.claim_expires_at = None
            return _item(row, now)

    def _claim_statement(
        self, where: ColumnElement[bool], reviewer: str, now: datetime
    ) -> Executable:
        return (
            update(ReviewItemRow)
            .where(where)
            .values(
                state="claimed",
                claimed_by=reviewer,
                claimed_at=now,
                claim_expires_at=now + self.claim_timeout,
                claims=ReviewItemRow.claims + 1,
            )
            .returning(ReviewItemRow.id)
            .execution_options(synchronize_session=False)
        )

    # --- submitting -----------------------------------------------------------------------

    async def submit(
        self,
        item_id: int,
        *,
        reviewer: str,
        values: Mapping[str, str | None],
        learning: str | LearningDraft | None = None,
        llm: LLM | None = None,
        teacher: ReviewTeacher | None = None,
        all_absent: bool = False,
    ) -> SubmitResult:
        """Record a reviewer's final values, close the item, and place an optional learning.

        Reviewed attributes not in ``values`` are confirmed with their current value; every
        attribute still waiting for a value (``needs_review``) must be given one. The item may
        be submitted while open, or while claimed by ``reviewer`` (also after the claim
        expired, as long as nobody else claimed it since).

        Args:
            item_id: The review item.
            reviewer: Who answers; the output record and the learning are attributed to them.
            values: Attribute name to final value (``None``: absent from the product). Any
                attribute of the category's schema may be set, not only the reviewed ones.
            learning: A lesson for later products: text (scoped to the item's category and the
                attributes set) or a full draft. Placed as ``proposed``.
            llm: The model the memory manager asks where the placement is a real choice;
                required when ``learning`` is given.
            teacher: Turns the final values into value and example learnings for later
                products; defaults to the queue's own (``None`` there: they correct this
                record only).
            all_absent: The reviewer confirms that the product states none of the submitted
                attributes. Without it, a submission that would leave every reviewed
                attribute absent while the record had a value or was waiting for one is
                refused: an empty form is far more often unfinished than an answer.

        Raises:
            ReviewError: The item is unknown, done, claimed by someone else, or a value is
                not allowed (unknown attribute, outside a closed set, a waiting one missing).
        """
        reviewer = _reviewer(reviewer)
        if learning is not None and llm is None:
            raise ReviewError("a submitted learning needs a model for the memory manager")
        now = self._clock()
        with self.db.write() as session:
            row = _require(session, item_id, lock=True)
            if row.state == "done" or (
                row.state == "claimed" and row.claimed_by != reviewer and not _is_expired(row, now)
            ):
                _refuse(row, reviewer, now, "submit")
            context = ReviewContext.model_validate(row.context)
            stored = session.get(RunProduct, (row.run_id, row.seq), with_for_update=True)
            if stored is None:  # pragma: no cover - the foreign key keeps it
                raise ReviewError(f"output record {row.run_id}#{row.seq} is gone")
            record = EnrichedRecord.model_validate(stored.output)
            final = _final_values(item_id, context.attributes, row.attributes, record, values)
            _refuse_blank(item_id, record, final, confirmed=all_absent)
            changed = [
                name
                for name, value in final.items()
                if name not in context.record.attributes
                or context.record.attributes[name].value != value
            ]
            machine = dict(record.attributes)
            before = record
            record = _with_human_values(record, context.attributes, final)
            stored.output = record.model_dump(mode="json")
            record_changes(
                session, run_id=row.run_id, seq=row.seq, before=before, after=record,
                actor=reviewer, source=f"review:{item_id}", at=now,
            )  # fmt: skip
            text = learning.text if isinstance(learning, LearningDraft) else learning
            submission = Submission(
                reviewer=reviewer, at=now, values=final, changed=changed, learning=text
            )
            row.state = "done"
            row.claimed_by = reviewer
            row.claim_expires_at = None
            row.closed_at = now
            row.closed_by = reviewer
            row.submission = submission.model_dump(mode="json")
            item = _item(row, now)
        placement = None
        if learning is not None:
            assert llm is not None
            draft = (
                learning
                if isinstance(learning, LearningDraft)
                else LearningDraft(
                    category=context.product.category,
                    attributes=list(values) or list(row.attributes),
                    text=learning,
                )
            )
            manager = MemoryManager(KnowledgeBase(self.db), llm, actor=reviewer, status="proposed")
            placement = await manager.place(draft, source=f"{row.run_id}:{row.product_id}")
            submission.learning_id = placement.learning_id or placement.duplicate_of
            with self.db.write() as session:
                done = _require(session, item_id, lock=True)
                done.submission = submission.model_dump(mode="json")
                item = _item(done, now)
        # What the person decided about values the knowledge base gave: measured outcomes.
        retired = record_review_outcomes(
            KnowledgeBase(self.db),
            machine,
            final,
            reviewer=reviewer,
            product=item.product_id,
        )
        teacher = teacher or self.teacher
        taught = (
            await teacher.teach(
                context.product,
                context.attributes,
                final,
                reviewer=reviewer,
                source=f"review:{item_id}:{item.run_id}:{item.product_id}",
                case=f"{item.run_id}:{item.product_id}",
            )
            if teacher is not None
            else []
        )
        return SubmitResult(
            item=item, record=record, placement=placement, taught=taught, retired=retired
        )

    # --- helpers --------------------------------------------------------------------------

    def _detail(self, session: Session, row: ReviewItemRow) -> ReviewDetail:
        stored = session.get(RunProduct, (row.run_id, row.seq))
        context = ReviewContext.model_validate(row.context)
        current = EnrichedRecord.model_validate(stored.output) if stored else context.record
        item = _item(row, self._clock())
        return ReviewDetail(**item.model_dump(), context=context, current=current)


def _reviewer(name: str) -> str:
    name = name.strip()
    if not name:
        raise ReviewError("a reviewer name is needed (--reviewer NAME, or set $USER)")
    if len(name) > 100:
        raise ReviewError(f"reviewer name {name[:20]!r}... is longer than 100 characters")
    return name


def _expired(now: datetime) -> ColumnElement[bool]:
    return and_(ReviewItemRow.state == "claimed", ReviewItemRow.claim_expires_at < now)


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(ReviewItemRow.state == "open", _expired(now))


def _in_state(state: ReviewState, now: datetime) -> ColumnElement[bool]:
    if state == "open":
        return _claimable(now)
    if state == "claimed":
        return and_(ReviewItemRow.state == "claimed", ReviewItemRow.claim_expires_at >= now)
    return ReviewItemRow.state == "done"


def _is_expired(row: ReviewItemRow, now: datetime) -> bool:
    return row.claim_expires_at is not None and row.claim_expires_at < now


_MAX_ID = 2**63 - 1
"""Ids are 64-bit: a larger number names no item (and must not reach the database driver)."""


def _require(session: Session, item_id: int, *, lock: bool = False) -> ReviewItemRow:
    row = (
        session.get(ReviewItemRow, item_id, with_for_update=lock, populate_existing=True)
        if 0 < item_id <= _MAX_ID
        else None
    )
    if row is None:
        raise UnknownReviewItemError(
            f"review item {item_id} does not exist; see `dissensus review list`"
        )
    return row


def _refuse(row: ReviewItemRow, reviewer: str, now: datetime, action: str) -> None:
    if row.state == "done":
        raise ReviewError(
            f"review item {row.id} was already submitted by {row.closed_by} "
            f"at {row.closed_at:%Y-%m-%d %H:%M}"
        )
    raise ReviewError(
        f"review item {row.id} is claimed by {row.claimed_by} until "
        f"{row.claim_expires_at:%Y-%m-%d %H:%M} UTC; {reviewer!r} cannot {action} it — "
        "take another with `dissensus review next`"
    )


def _reason(value: str) -> ReviewReason:
    if value not in REASON_PRIORITY:  # pragma: no cover - written only from the Literal
        raise ReviewError(f"unknown review reason {value!r} in the database")
    return value


def _item(row: ReviewItemRow, now: datetime) -> ReviewItem:
    state: ReviewState = row.state  # type: ignore[assignment]
    if state == "claimed" and _is_expired(row, now):
        state = "open"
    return ReviewItem(
        id=row.id,
        run_id=row.run_id,
        seq=row.seq,
        product_id=row.product_id,
        title=str((row.context.get("product") or {}).get("title", ""))[:300],
        category=row.category,
        reason=_reason(row.reason),
        attributes=list(row.attributes),
        state=state,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        claim_expires_at=row.claim_expires_at,
        claims=row.claims,
        created_at=row.created_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        submission=Submission.model_validate(row.submission) if row.submission else None,
    )


def _final_values(
    item_id: int,
    specs: list[AttributeSpec],
    reviewed: list[str],
    record: EnrichedRecord,
    values: Mapping[str, str | None],
) -> dict[str, str | None]:
    """Check the submitted values against the schema; add the confirmed reviewed ones."""
    by_name = {s.name: s for s in specs}
    final: dict[str, str | None] = {}
    for name, raw in values.items():
        spec = by_name.get(name)
        if spec is None:
            raise ReviewError(
                f"review item {item_id} has no attribute {name!r}; "
                f"its attributes are {', '.join(by_name) or '(none)'}"
            )
        value = raw.strip() if raw is not None else None
        if value is not None and spec.values is not None:
            canonical = {v.casefold(): v for v in spec.values}
            if value.casefold() not in canonical:
                raise ReviewError(
                    f"{value!r} is not an allowed value of {name!r}; "
                    f"choose one of {', '.join(spec.values)} (or empty for absent)"
                )
            value = canonical[value.casefold()]
        final[name] = value or None
    for name in reviewed:
        if name in final:
            continue
        current = record.attributes.get(name)
        if current is None or current.status == "needs_review":
            raise ReviewError(
                f"review item {item_id}: {name!r} waits for a value; "
                f"pass --set '{name}=VALUE' (empty for absent)"
            )
        final[name] = current.value
    return final


def _refuse_blank(
    item_id: int,
    record: EnrichedRecord,
    final: Mapping[str, str | None],
    *,
    confirmed: bool,
) -> None:
    """The one rule for empty answers, for every front: an answer that leaves every attribute
    absent needs a yes when it blanks several of them or clears a value the record had (one
    waiting attribute answered "absent" is an ordinary answer)."""
    if confirmed or not final or any(v is not None for v in final.values()):
        return
    before = [record.attributes.get(n) for n in final]
    cleared = any(a is not None and a.value is not None for a in before)
    if len(final) > 1 or cleared:
        raise ReviewError(
            f"review item {item_id}: every value is empty, which would record the product as "
            "stating none of its attributes; if that is so, confirm it (CLI: --all-absent; "
            "web: tick 'The product states none of these')"
        )


def _with_human_values(
    record: EnrichedRecord, specs: list[AttributeSpec], final: Mapping[str, str | None]
) -> EnrichedRecord:
    attributes = dict(record.attributes)
    for name, value in final.items():
        # A person's value comes from no prompt, so it cites no learnings.
        attributes[name] = AttributeResult(value=value, status="human", confidence=1.0)
    order = [s.name for s in specs if s.name in attributes]
    order += [n for n in attributes if n not in order]
    return record.model_copy(update={"attributes": {n: attributes[n] for n in order}})
