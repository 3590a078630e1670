"""The knowledge base: the tree of category nodes, the learnings on them, and their history.

A synchronous API on purpose: the pipeline calls it between async model calls, and every method
is one short transaction, so a SQLite writer holds the lock for milliseconds. Every change writes
exactly one ``kb_events`` row in the same transaction as the change itself, so the history can
never disagree with the tables.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Text, and_, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dissensus.domain import (
    ROOT_KEY,
    CategoryPath,
    Learning,
    LearningDraft,
    LearningKind,
    LearningStatus,
)
from dissensus.errors import KnowledgeError
from dissensus.knowledge._rows import (
    MAX_EXAMPLE_CHARS,
    MAX_TEXT_CHARS,
    check_text,
    node_infos,
    record,
    record_change,
    snapshot,
    to_learning,
    union,
    unknown_learning,
)
from dissensus.knowledge._text import bm25_rank
from dissensus.knowledge.history import Event, EventOp
from dissensus.knowledge.retrieval import select_for_prompt
from dissensus.knowledge.tree import ROOT_NAME, NodeInfo, child_key
from dissensus.storage import Database, KbEvent, KbNode, LearningRow, utcnow

__all__ = [
    "MAX_EXAMPLE_CHARS",
    "MAX_TEXT_CHARS",
    "TRANSITIONS",
    "DuplicateLearning",
    "KnowledgeBase",
    "confirming_product",
]


class DuplicateLearning(KnowledgeError):
    """An ``add(unless=...)`` found the learning already there (perhaps added a moment ago by
    another process); ``existing`` is it."""

    def __init__(self, existing: Learning) -> None:
        super().__init__(f"the same learning is already {existing.id} at {existing.node}")
        self.existing = existing


TRANSITIONS: dict[LearningStatus, frozenset[LearningStatus]] = {
    "proposed": frozenset({"active", "rejected"}),
    "active": frozenset({"deprecated"}),
    "deprecated": frozenset({"active"}),
    "rejected": frozenset({"proposed"}),
}
"""Allowed status changes; anything else is a mistake worth an error, not a silent no-op."""

_EDITABLE: frozenset[str] = frozenset({"proposed", "active"})
_T = TypeVar("_T")


class KnowledgeBase:
    """The knowledge tree and its learnings, stored in a :class:`~dissensus.storage.Database`.

    Args:
        db: An open, migrated database (``Database.open()``).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        """The database the knowledge base lives in (governance and transfer write it too)."""
        return self._db

    # --- nodes ----------------------------------------------------------------------------

    def ensure_path(self, path: CategoryPath, *, actor: str = "system") -> str:
        """Create the missing nodes of ``path`` from the root down; return the leaf's key.

        Each created node is one ``create_node`` event; existing nodes are left as they are.
        """

        def work(session: Session) -> str:
            parent = self._ensure_node(session, ROOT_KEY, ROOT_NAME, None, actor, "")
            for name in path.parts:
                parent = self._ensure_node(
                    session, child_key(parent, name), name, parent, actor, f"path {path}"
                )
            return parent

        return self._write_retrying(work)

    def ensure_child(self, parent_key: str, name: str, *, actor: str, reason: str = "") -> str:
        """Create (if missing) the child ``name`` under an existing node; return its key."""
        name = name.strip()
        if not name:
            raise KnowledgeError(f"cannot create an unnamed child under {parent_key!r}; name it")

        def work(session: Session) -> str:
            self._require_node(session, parent_key)
            return self._ensure_node(
                session, child_key(parent_key, name), name, parent_key, actor, reason
            )

        return self._write_retrying(work)

    def node(self, key: str) -> NodeInfo:
        """Describe one node; raises :class:`KnowledgeError` if there is no such node."""
        with self._db.read() as session:
            row = self._require_node(session, key)
            return node_infos(session, [row])[0]

    def children(self, key: str) -> builtins.list[NodeInfo]:
        """The direct children of a node, by key."""
        with self._db.read() as session:
            rows = session.scalars(
                select(KbNode).where(KbNode.parent_key == key).order_by(KbNode.key)
            ).all()
            return node_infos(session, rows)

    def tree(self) -> builtins.list[NodeInfo]:
        """Every node, in key order (a parent comes right before its subtree)."""
        with self._db.read() as session:
            rows = session.scalars(select(KbNode)).all()
            infos = node_infos(session, rows)
        # Sorting on the path parts, not the raw key, keeps '/a/b' before '/a-z'.
        return sorted(infos, key=lambda n: n.key.split("/"))

    # --- learnings: changes ---------------------------------------------------------------

    def add(
        self,
        *,
        node_key: str,
        text: str,
        example: str = "",
        attributes: Sequence[str] = (),
        sources: Sequence[str] = (),
        actor: str,
        status: LearningStatus = "active",
        approved: bool = False,
        reason: str = "",
        kind: LearningKind = "rule",
        values: Mapping[str, str | None] | None = None,
        unless: Callable[[builtins.list[Learning]], Learning | None] | None = None,
    ) -> Learning:
        """Add a new learning to an existing node (``add`` event).

        Args:
            approved: A person wrote or approved it (see :attr:`Learning.approved`).
            kind: ``rule``, ``value`` or ``example``; ``values`` holds the latter two's data.
            unless: Given the node's active and proposed learnings of ``kind``, the one the new
                learning would duplicate. Asked inside the write transaction with the node
                locked, so two processes placing the same learning add it once: the second
                gets :class:`DuplicateLearning` naming the first.
        """
        text, example = check_text(text, example, what=f"add to {node_key!r}")
        with self._db.write() as session:
            self._require_node(session, node_key, lock=unless is not None)
            if unless is not None:
                live = session.scalars(
                    select(LearningRow).where(
                        LearningRow.node_key == node_key,
                        LearningRow.kind == kind,
                        LearningRow.status.in_(("active", "proposed")),
                    )
                )
                duplicate = unless([to_learning(r) for r in live])
                if duplicate is not None:
                    raise DuplicateLearning(duplicate)
            row = LearningRow(
                id=self._new_id(session),
                node_key=node_key,
                attributes=union(attributes),
                text=text,
                example=example,
                status=status,
                version=1,
                sources=union(sources),
                uses=0,
                approved=approved,
                kind=kind,
                values=dict(values or {}),
            )
            session.add(row)
            session.flush()
            self._event(session, "add", actor, reason, row=row, before=None)
            return to_learning(row)

    def merge(
        self,
        into_id: str,
        *,
        text: str,
        example: str = "",
        attributes: Sequence[str] | None = None,
        sources: Sequence[str] = (),
        actor: str,
        reason: str = "",
    ) -> Learning:
        """Fold new knowledge into an existing learning: new text, version + 1, sources united.

        Args:
            attributes: The merged learning's attributes; ``None`` keeps the current ones.
        """
        text, example = check_text(text, example, what=f"merge into {into_id!r}")
        with self._db.write() as session:
            row = self._require_editable(session, into_id, "merge into")
            before = snapshot(row)
            row.text, row.example = text, example
            if attributes is not None:
                row.attributes = union(attributes)
            row.sources = union(row.sources, sources)
            row.version += 1
            row.updated_at = utcnow()
            _withdraw_approval(row)
            session.flush()
            self._event(session, "merge", actor, reason, row=row, before=before)
            return to_learning(row)

    def replace(
        self,
        old_id: str,
        *,
        text: str,
        example: str = "",
        attributes: Sequence[str] | None = None,
        sources: Sequence[str] = (),
        actor: str,
        reason: str = "",
        status: LearningStatus = "active",
    ) -> Learning:
        """Supersede a learning: the old one becomes ``deprecated``, a new one takes its node.

        One ``replace`` event records both: ``learning_id`` is the new id, ``before`` the old
        learning as it was (so ``history(learning_id=old)`` finds it too).

        Args:
            attributes: The new learning's attributes; ``None`` copies the old ones.
        """
        text, example = check_text(text, example, what=f"replace {old_id!r}")
        with self._db.write() as session:
            old = self._require_editable(session, old_id, "replace")
            before = snapshot(old)
            # One timestamp for both rows: the old learning's new state is then exactly
            # ``before`` + deprecated + ``updated_at`` = the new one's ``created_at``, which is
            # how the history replays a replace (versions.py).
            now = utcnow()
            old.status = "deprecated"
            old.updated_at = now
            new = LearningRow(
                created_at=now,
                updated_at=now,
                id=self._new_id(session),
                node_key=old.node_key,
                attributes=union(old.attributes if attributes is None else attributes),
                text=text,
                example=example,
                status=status,
                version=1,
                sources=union(sources),
                uses=0,
            )
            session.add(new)
            session.flush()
            self._event(session, "replace", actor, reason, row=new, before=before)
            return to_learning(new)

    def discard(
        self,
        reason: str,
        draft: LearningDraft,
        actor: str,
        *,
        node_key: str | None = None,
        duplicate_of: str | None = None,
    ) -> Event:
        """Record that a draft was not placed (a ``discard`` event; nothing else changes).

        Args:
            node_key: Where the decision was taken.
            duplicate_of: The learning the draft duplicates; the event is filed under its id.
        """
        with self._db.write() as session:
            row = record(
                session,
                "discard",
                actor,
                reason,
                learning_id=duplicate_of,
                node_key=node_key,
                before=None,
                after=draft.model_dump(mode="json"),
            )
            return Event.from_row(row)

    def confirm(
        self,
        learning_id: str,
        source: str,
        *,
        actor: str,
        activate_after: int | None = None,
        reason: str = "",
    ) -> Learning:
        """Count a later case that drafted this learning again (deploy-and-learn confirmations).

        A new ``source`` joins the learning's sources (a ``confirm`` event; a source already
        there changes nothing, so a resumed run confirms nothing twice). A ``proposed`` learning
        with at least ``activate_after`` confirming cases beyond its first source becomes
        ``active`` (a ``status`` event). Cases count by the product they are about
        (:func:`confirming_product`): running the same catalog again drafts the same mistakes
        again, and once confirmed them.

        Args:
            activate_after: Confirmations that activate a proposed learning; ``None`` never.
        """
        with self._db.write() as session:
            row = self._require_learning(session, learning_id, lock=True)
            if source and source not in row.sources:
                seen = {confirming_product(s) for s in row.sources}
                before = snapshot(row)
                row.sources = union(row.sources, [source])
                session.flush()
                why = reason or f"drafted again by {source}"
                if confirming_product(source) in seen:
                    why += ", about a product already among its sources: no new confirmation"
                self._event(session, "confirm", actor, why, row=row, before=before)
            confirmations = max(0, len({confirming_product(s) for s in row.sources}) - 1)
            if (
                activate_after is not None
                and row.status == "proposed"
                and confirmations >= activate_after
            ):
                before = snapshot(row)
                row.status = "active"
                row.updated_at = utcnow()
                session.flush()
                why = f"confirmed by {confirmations} later case(s) (needs {activate_after})"
                self._event(session, "status", actor, why, row=row, before=before)
            return to_learning(row)

    def set_status(
        self, learning_id: str, status: LearningStatus, actor: str, reason: str = ""
    ) -> Learning:
        """Move a learning along :data:`TRANSITIONS` (a ``status`` event)."""
        with self._db.write() as session:
            row = self._require_learning(session, learning_id, lock=True)
            current: LearningStatus = row.status  # type: ignore[assignment]
            if status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current]))
                raise KnowledgeError(
                    f"learning {learning_id!r} is {current}; it cannot become {status} "
                    f"(from {current} it can become: {allowed})"
                )
            before = snapshot(row)
            row.status = status
            row.updated_at = utcnow()
            session.flush()
            self._event(session, "status", actor, reason, row=row, before=before)
            return to_learning(row)

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
        """Correct a learning by hand (an ``edit`` event; version + 1, sources unchanged).

        The edit is a new version: the history keeps the old one in the event's ``before``.
        A proposed learning loses its approval, since nobody approved the new text yet.
        """
        with self._db.write() as session:
            row = self._require_editable(session, learning_id, "edit")
            before = snapshot(row)
            new_text, new_example = check_text(
                row.text if text is None else text,
                row.example if example is None else example,
                what=f"edit {learning_id!r}",
            )
            row.text, row.example = new_text, new_example
            if attributes is not None:
                row.attributes = union(attributes)
            row.version += 1
            row.updated_at = utcnow()
            _withdraw_approval(row)
            session.flush()
            self._event(session, "edit", actor, reason, row=row, before=before)
            return to_learning(row)

    # --- learnings: reading ---------------------------------------------------------------

    def get(self, learning_id: str) -> Learning:
        """One learning by id; raises :class:`KnowledgeError` if unknown."""
        with self._db.read() as session:
            return to_learning(self._require_learning(session, learning_id))

    def list(
        self,
        node_key: str | None = None,
        status: LearningStatus | None = None,
        *,
        kind: LearningKind | None = None,
    ) -> builtins.list[Learning]:
        """Learnings, optionally on one node, with one status and/or of one kind, oldest first."""
        query = select(LearningRow).order_by(
            LearningRow.node_key, LearningRow.created_at, LearningRow.id
        )
        if node_key is not None:
            query = query.where(LearningRow.node_key == node_key)
        if status is not None:
            query = query.where(LearningRow.status == status)
        if kind is not None:
            query = query.where(LearningRow.kind == kind)
        with self._db.read() as session:
            return [to_learning(r) for r in session.scalars(query)]

    def history(
        self, limit: int | None = None, learning_id: str | None = None
    ) -> builtins.list[Event]:
        """Recorded changes in the order they happened, oldest first.

        Args:
            limit: Only the newest ``limit`` events (still returned oldest first).
            learning_id: Only the events that touched this learning, including the ``replace``
                that deprecated it.
        """
        query = select(KbEvent).order_by(KbEvent.seq.desc())
        if learning_id is not None:
            # A replace is filed under the new id; the old id is only inside ``before``.
            query = query.where(
                or_(
                    KbEvent.learning_id == learning_id,
                    and_(
                        KbEvent.op == "replace",
                        cast(KbEvent.before, Text).contains(f'"{learning_id}"'),
                    ),
                )
            )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as session:
            newest_first = [Event.from_row(r) for r in session.scalars(query)]
        return newest_first[::-1]

    def version(self) -> int:
        """The KB version: the ``seq`` of the last event (0 for an empty knowledge base)."""
        with self._db.read() as session:
            return session.scalar(select(func.max(KbEvent.seq))) or 0

    # --- retrieval and search -------------------------------------------------------------

    def retrieve(
        self,
        path: CategoryPath,
        attributes: builtins.list[str] | None = None,
        *,
        budget_tokens: int = 400,
    ) -> builtins.list[Learning]:
        """Active learnings for a prompt about ``path``: root to leaf, filtered, ranked, cut.

        See :func:`dissensus.knowledge.retrieval.select_for_prompt` for the ranking. Call
        :meth:`record_uses` with the ids that were actually put into the prompt.
        """
        keys = path.ancestor_keys()
        with self._db.read() as session:
            rows = session.scalars(
                select(LearningRow).where(
                    LearningRow.node_key.in_(keys),
                    LearningRow.status == "active",
                    LearningRow.kind == "rule",
                )
            ).all()
            candidates = [to_learning(r) for r in rows]
        depth = {key: i for i, key in enumerate(keys)}
        return select_for_prompt(candidates, depth, attributes, budget_tokens=budget_tokens)

    def learned(self, path: CategoryPath, kind: LearningKind) -> builtins.list[Learning]:
        """Active ``value`` or ``example`` learnings for products of ``path``.

        Those on the path's nodes (root to leaf) and in the leaf's subtree: a known value or a
        solved product of a narrower category is still evidence for its parent. Rules go
        through :meth:`retrieve` instead, which ranks them against a prompt budget; these are
        matched or ranked per product by the caller.
        """
        keys = path.ancestor_keys()
        leaf = keys[-1].rstrip("/")
        escaped = leaf.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._db.read() as session:
            rows = session.scalars(
                select(LearningRow)
                .where(
                    or_(
                        LearningRow.node_key.in_(keys),
                        LearningRow.node_key.like(escaped + "/%", escape="\\"),
                    ),
                    LearningRow.status == "active",
                    LearningRow.kind == kind,
                )
                .order_by(LearningRow.created_at, LearningRow.id)
            ).all()
            return [to_learning(r) for r in rows]

    def record_uses(self, ids: Iterable[str]) -> None:
        """Count one more product for each learning id (a usage counter, not a history event;
        an id given twice for one product counts once)."""
        unique = sorted(set(ids))
        if not unique:
            return
        with self._db.write() as session:
            session.execute(
                update(LearningRow)
                .where(LearningRow.id.in_(unique))
                .values(uses=LearningRow.uses + 1)
            )

    def search(
        self,
        text: str,
        *,
        limit: int = 5,
        node_prefix: str | None = None,
        status: LearningStatus | None = "active",
    ) -> builtins.list[Learning]:
        """Learnings lexically closest to ``text`` (BM25 over text, example, attributes, node).

        Args:
            node_prefix: Only search this node and its subtree (``/shoes``).
            status: Only learnings with this status; ``None`` for all.
        """
        query = select(LearningRow)
        if status is not None:
            query = query.where(LearningRow.status == status)
        if node_prefix is not None and node_prefix != ROOT_KEY:
            prefix = node_prefix.rstrip("/")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(
                or_(
                    LearningRow.node_key == prefix,
                    LearningRow.node_key.like(escaped + "/%", escape="\\"),
                )
            )
        with self._db.read() as session:
            learnings = [to_learning(r) for r in session.scalars(query.order_by(LearningRow.id))]
        documents = [
            " ".join([lr.text, lr.example, *lr.attributes, lr.node.replace("/", " ")])
            for lr in learnings
        ]
        return [learnings[i] for i, _ in bm25_rank(text, documents)[:limit]]

    # --- internals ------------------------------------------------------------------------

    def _write_retrying(self, work: Callable[[Session], _T]) -> _T:
        # Two processes may create the same node at once on PostgreSQL (SQLite serializes them
        # with BEGIN IMMEDIATE); the loser's insert fails and a retry finds the node.
        try:
            with self._db.write() as session:
                return work(session)
        except IntegrityError:
            with self._db.write() as session:
                return work(session)

    def _ensure_node(
        self,
        session: Session,
        key: str,
        name: str,
        parent: str | None,
        actor: str,
        reason: str,
    ) -> str:
        if session.get(KbNode, key) is not None:
            return key
        session.add(KbNode(key=key, name=name, parent_key=parent))
        session.flush()
        after = {"key": key, "name": name, "parent_key": parent}
        record(session, "create_node", actor, reason, node_key=key, before=None, after=after)
        return key

    def _require_node(self, session: Session, key: str, *, lock: bool = False) -> KbNode:
        # FOR UPDATE serializes writers of one node on PostgreSQL; SQLite's BEGIN IMMEDIATE
        # already serializes every writer.
        row = session.get(KbNode, key, with_for_update=lock)
        if row is None:
            raise KnowledgeError(
                f"knowledge node {key!r} does not exist; create it first with "
                "KnowledgeBase.ensure_path(CategoryPath.parse(...)) or ensure_child()"
            )
        return row

    def _require_learning(
        self, session: Session, learning_id: str, *, lock: bool = False
    ) -> LearningRow:
        # A change reads the row, then writes it: FOR UPDATE keeps two writers on PostgreSQL
        # (READ COMMITTED) from both reading the old state and one overwriting the other's
        # change. SQLite's BEGIN IMMEDIATE already serializes every writer.
        row = session.get(LearningRow, learning_id, with_for_update=lock)
        if row is None:
            raise unknown_learning(learning_id)
        return row

    def _require_editable(self, session: Session, learning_id: str, action: str) -> LearningRow:
        row = self._require_learning(session, learning_id, lock=True)
        if row.status not in _EDITABLE:
            raise KnowledgeError(
                f"cannot {action} learning {learning_id!r}: it is {row.status}; "
                f"reactivate it first with set_status({learning_id!r}, 'active', ...)"
            )
        return row

    def _new_id(self, session: Session) -> str:
        # Short and readable for people auditing the KB; 16M values, so check for a clash.
        while True:
            candidate = f"L-{secrets.token_hex(3)}"
            if session.get(LearningRow, candidate) is None:
                return candidate

    def _event(
        self,
        session: Session,
        op: EventOp,
        actor: str,
        reason: str,
        *,
        row: LearningRow,
        before: dict[str, Any] | None,
    ) -> KbEvent:
        return record_change(session, op, actor, reason, row, before)


def _withdraw_approval(row: LearningRow) -> None:
    # A staged (approved, proposed) learning whose text changed must be approved again before
    # ``promote`` publishes it; an active one stays as published.
    if row.status == "proposed":
        row.approved = False


def confirming_product(source: str) -> str:
    """The product a learning's source speaks for, so confirmations count products, not runs.

    Case sources are ``RUN:PRODUCT`` and a reviewer's ``review:ITEM:RUN:PRODUCT``; a source of
    another shape (a person's name, ``review:ITEM``) is its own product. Product ids may hold
    colons, so only the known prefixes are taken off.
    """
    rest = source
    if rest.startswith("review:"):
        parts = rest.split(":", 2)
        if len(parts) < 3:
            return source
        rest = parts[2]
    run, sep, product = rest.partition(":")
    return product if sep and run and product else source
