"""Knowledge governance: who may change a learning's state, deployment modes, promote, rollback.

The staging/production split is one flag, not two knowledge bases. Production is the set of
``active`` learnings: the only ones retrieval puts into prompts. Staging is the ``proposed``
learnings; a person *approves* one (``approved = True``) and ``promote`` publishes every approved
proposed learning at once by making it ``active``. The deployment mode decides what a new
machine learning is:

- ``deploy-and-learn``: ``active`` at once, or ``proposed`` until ``confirmations`` later cases
  draft it again (the memory manager's discard-as-duplicate or merge counts one per new case);
  an approval publishes at once, since there is no staging to wait in.
- ``learn-then-deploy``: ``proposed``; nothing reaches runs before ``promote``.

Every change is one history event with actor, time, before, after and reason; edits make a new
version (the event keeps the old one); rollback writes new events that restore an old state.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dissensus.domain import Learning, LearningStatus
from dissensus.errors import KnowledgeError
from dissensus.knowledge._rows import (
    record,
    record_change,
    snapshot,
    to_learning,
    unknown_learning,
)
from dissensus.knowledge.deployment import DeploymentPolicy
from dissensus.knowledge.history import EventOp
from dissensus.knowledge.knowledge_base import TRANSITIONS, KnowledgeBase
from dissensus.knowledge.transfer import ImportReport, export_yaml, import_yaml
from dissensus.knowledge.tree import depth_of
from dissensus.knowledge.versions import (
    KbDiff,
    KbState,
    LearningVersion,
    check_version,
    current_state,
    diff_states,
    events_between,
    learning_versions,
    state_at,
)
from dissensus.storage import KbEvent, KbNode, LearningRow, utcnow

__all__ = ["Governance", "KbSizePoint"]


class KbSizePoint(BaseModel):
    """The knowledge base's learnings by status right after one version (a chart's point)."""

    version: int
    at: datetime
    counts: dict[str, int]


class Governance:
    """The human side of the knowledge base: review, edit, publish, compare and roll back.

    The CLI and the web app call this and hold no rules of their own. Every method that writes
    takes the ``actor`` (a user name) and records one event per learning it changes.

    Args:
        kb: The knowledge base to govern.
        policy: The configured deployment mode.
    """

    def __init__(self, kb: KnowledgeBase, policy: DeploymentPolicy | None = None) -> None:
        self.kb = kb
        self.policy = policy or DeploymentPolicy()
        self._db = kb.database

    # --- authoring ------------------------------------------------------------------------

    def add(
        self,
        *,
        node_key: str,
        text: str,
        example: str = "",
        attributes: Sequence[str] = (),
        actor: str,
        reason: str = "",
    ) -> Learning:
        """Add a learning written by a person: approved; active at once in deploy-and-learn,
        staged (proposed, approved) in learn-then-deploy."""
        return self.kb.add(
            node_key=node_key,
            text=text,
            example=example,
            attributes=attributes,
            actor=actor,
            status=self.policy.authored_status,
            approved=True,
            reason=reason or "written by hand",
        )

    def edit(
        self,
        learning_id: str,
        *,
        text: str | None = None,
        example: str | None = None,
        attributes: Sequence[str] | None = None,
        actor: str,
        reason: str = "",
    ) -> Learning:
        """Correct a proposed or active learning: a new version; the old one stays in history.

        A proposed learning loses its approval (approve the new text again).
        """
        return self.kb.edit(
            learning_id,
            text=text,
            example=example,
            attributes=attributes,
            actor=actor,
            reason=reason,
        )

    # --- state changes --------------------------------------------------------------------

    def approve(self, learning_id: str, *, actor: str, reason: str = "") -> Learning:
        """Approve a proposed learning: staged for ``promote`` (learn-then-deploy) or made
        active at once (deploy-and-learn). Approving an approved learning changes nothing."""
        with self._db.write() as session:
            row = _require(session, learning_id, lock=True)
            if row.status != "proposed":
                raise KnowledgeError(
                    f"learning {learning_id!r} is {row.status}; only proposed learnings can be "
                    f"approved ({_hint(row.status, learning_id)})"
                )
            status = self.policy.authored_status
            if row.approved and status == row.status:
                return to_learning(row)
            return _change(session, row, "approve", actor, reason, status=status, approved=True)

    def reject(self, learning_id: str, *, actor: str, reason: str = "") -> Learning:
        """Turn down a proposed learning (it stays in the history and can be reopened)."""
        return self._transition(learning_id, "rejected", actor, reason, approved=False)

    def deprecate(self, learning_id: str, *, actor: str, reason: str = "") -> Learning:
        """Retire an active learning: runs stop using it."""
        return self._transition(learning_id, "deprecated", actor, reason)

    def reactivate(self, learning_id: str, *, actor: str, reason: str = "") -> Learning:
        """Undo a retirement or a rejection: deprecated → active, rejected → proposed."""
        with self._db.read() as session:
            current = _require(session, learning_id).status
        if current not in ("deprecated", "rejected"):
            raise KnowledgeError(
                f"learning {learning_id!r} is {current}; only deprecated or rejected learnings "
                "can be reactivated"
            )
        target: LearningStatus = "active" if current == "deprecated" else "proposed"
        return self._transition(learning_id, target, actor, reason)

    def _transition(
        self,
        learning_id: str,
        status: LearningStatus,
        actor: str,
        reason: str,
        *,
        approved: bool | None = None,
    ) -> Learning:
        with self._db.write() as session:
            row = _require(session, learning_id, lock=True)
            current: LearningStatus = row.status  # type: ignore[assignment]
            if status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current]))
                raise KnowledgeError(
                    f"learning {learning_id!r} is {current}; it cannot become {status} "
                    f"(from {current} it can become: {allowed})"
                )
            return _change(session, row, "status", actor, reason, status=status, approved=approved)

    # --- staging and publishing -----------------------------------------------------------

    def pending(self) -> builtins.list[Learning]:
        """Proposed learnings nobody has approved yet: the review backlog."""
        return [lr for lr in self.kb.list(status="proposed") if not lr.approved]

    def staged(self) -> builtins.list[Learning]:
        """Approved proposed learnings: what :meth:`promote` will publish."""
        return [lr for lr in self.kb.list(status="proposed") if lr.approved]

    def promote(self, *, actor: str, reason: str = "") -> builtins.list[Learning]:
        """Publish every approved proposed learning to production (``active``), one transaction.

        Returns:
            The promoted learnings, by node then id; empty when nothing was staged.
        """
        with self._db.write() as session:
            rows = session.scalars(
                select(LearningRow)
                .where(LearningRow.status == "proposed", LearningRow.approved.is_(True))
                .order_by(LearningRow.node_key, LearningRow.id)
            ).all()
            why = reason or "promoted to production"
            return [_change(session, row, "promote", actor, why, status="active") for row in rows]

    # --- versions -------------------------------------------------------------------------

    def version(self) -> int:
        """The current KB version (the last history ``seq``)."""
        return self.kb.version()

    def versions(self, learning_id: str) -> builtins.list[LearningVersion]:
        """Every recorded state of one learning, oldest first (raises if it never existed)."""
        with self._db.read() as session:
            found = learning_versions(session, learning_id)
        if not found:
            raise KnowledgeError(
                f"learning {learning_id!r} has no history; list the ids with `dissensus kb tree "
                "--learnings` or KnowledgeBase.list()"
            )
        return found

    def state(self, version: int | None = None) -> KbState:
        """The whole knowledge base at ``version`` (``None``: now)."""
        with self._db.read() as session:
            return current_state(session) if version is None else state_at(session, version)

    def size_series(self, cache: dict[int, dict[str, int]], points: int = 24) -> list[KbSizePoint]:
        """Learnings by status at up to ``points`` versions spread over the whole history.

        ``cache`` keeps the counts of versions already computed: a past version never changes.
        """
        with self._db.read() as session:
            head = session.scalar(select(func.max(KbEvent.seq))) or 0
            if head == 0:
                return []
            step = max(1, head // (points - 1))
            wanted = sorted({*range(step, head + 1, step), head})
            times = dict(
                session.execute(
                    select(KbEvent.seq, KbEvent.at).where(KbEvent.seq.in_(wanted))
                ).all()
            )
        series = []
        for version in wanted:
            if version not in cache:
                counts: dict[str, int] = {}
                for learning in self.state(version).learnings.values():
                    counts[learning.status] = counts.get(learning.status, 0) + 1
                cache[version] = counts
            if version in times:
                series.append(
                    KbSizePoint(version=version, at=times[version], counts=cache[version])
                )
        return series

    def diff(self, from_version: int, to_version: int | None = None) -> KbDiff:
        """What changed between two versions (``to_version`` ``None``: the current one)."""
        with self._db.read() as session:
            old = state_at(session, from_version)
            new = current_state(session) if to_version is None else state_at(session, to_version)
            low, high = sorted((old.version, new.version))
            events = events_between(session, low, high) if from_version <= new.version else []
            return diff_states(old, new, events)

    def rollback(self, version: int, *, actor: str, reason: str = "") -> KbDiff:
        """Restore the knowledge base exactly as it was at ``version``, as new events.

        Learnings created since are removed, changed ones get their old fields back (status,
        text, version number, timestamps), removed ones return; nodes likewise. Usage counters
        are kept. One transaction; nothing in the history is rewritten.

        Returns:
            The changes made, from the version before the rollback to the new one.
        """
        why = reason or f"rollback to version {version}"
        with self._db.write() as session:
            check_version(session, version)
            target, now = state_at(session, version), current_state(session)
            plan = diff_states(now, target)
            for node in plan.nodes_added:  # shallowest first: parents before children
                session.add(KbNode(key=node.key, name=node.name, parent_key=node.parent_key))
                session.flush()
                record(
                    session,
                    "create_node",
                    actor,
                    why,
                    node_key=node.key,
                    before=None,
                    after=node.model_dump(mode="json"),
                )
            for change in plan.learnings:
                _restore(session, change.id, change.after, actor, why)
            for node in sorted(plan.nodes_removed, key=lambda n: -depth_of(n.key)):
                row = session.get(KbNode, node.key)
                if row is not None:
                    session.delete(row)
                    session.flush()
                record(
                    session,
                    "delete_node",
                    actor,
                    why,
                    node_key=node.key,
                    before=node.model_dump(mode="json"),
                    after=None,
                )
            after = current_state(session)
            return diff_states(now, after, events_between(session, now.version, after.version))

    # --- export and import ----------------------------------------------------------------

    def export_yaml(self) -> str:
        """The whole knowledge base as human-editable YAML (see :mod:`.transfer`)."""
        return export_yaml(self.kb)

    def import_yaml(self, text: str, *, actor: str, origin: str = "") -> ImportReport:
        """Validate and apply an edited export (see :func:`.transfer.import_yaml`)."""
        return import_yaml(self.kb, text, actor=actor, policy=self.policy, origin=origin)


def _require(session: Session, learning_id: str, *, lock: bool = False) -> LearningRow:
    # lock: FOR UPDATE, for a change (on PostgreSQL a concurrent change then waits, not lost).
    row = session.get(LearningRow, learning_id, with_for_update=lock)
    if row is None:
        raise unknown_learning(learning_id)
    return row


def _hint(status: str, learning_id: str) -> str:
    if status == "rejected":
        return f"reopen it first with `dissensus kb reactivate {learning_id}`"
    if status == "deprecated":
        return f"reactivate it with `dissensus kb reactivate {learning_id}`"
    return "it is already published"


def _change(
    session: Session,
    row: LearningRow,
    op: EventOp,
    actor: str,
    reason: str,
    *,
    status: LearningStatus,
    approved: bool | None = None,
) -> Learning:
    before = snapshot(row)
    row.status = status
    if approved is not None:
        row.approved = approved
    row.updated_at = utcnow()
    session.flush()
    record_change(session, op, actor, reason, row, before)
    return to_learning(row)


def _restore(
    session: Session, learning_id: str, target: Learning | None, actor: str, reason: str
) -> None:
    """Set one learning row to ``target`` (``None``: remove it) and record a rollback event."""
    row = session.get(LearningRow, learning_id, with_for_update=True)
    before = snapshot(row) if row is not None else None
    if target is None:
        if row is not None:
            node_key = row.node_key
            session.delete(row)
            session.flush()
            record(
                session,
                "rollback",
                actor,
                reason,
                learning_id=learning_id,
                node_key=node_key,
                before=before,
                after=None,
            )
        return
    if row is None:
        row = LearningRow(id=learning_id, uses=0)
        session.add(row)
    row.node_key = target.node
    row.attributes = list(target.attributes)
    row.text = target.text
    row.example = target.example
    row.kind = target.kind
    row.values = dict(target.values)
    row.status = target.status
    row.approved = target.approved
    row.version = target.version
    row.sources = list(target.sources)
    row.created_at = target.created_at or utcnow()
    row.updated_at = target.updated_at or row.created_at
    session.flush()
    record(
        session,
        "rollback",
        actor,
        reason,
        learning_id=learning_id,
        node_key=row.node_key,
        before=before,
        after=snapshot(row),
    )
