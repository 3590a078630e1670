"""Export and import of the knowledge base as YAML that people edit and keep in git.

The file lists the nodes (by key, shallow first) and the learnings (by node, then id), every
learning with its fields in one fixed order, so two exports of the same knowledge are identical
and an edit shows as a small diff. Import is the way back in, validated as a whole before
anything is written, in one transaction, one history event per learning it changes:

- an entry whose ``id`` exists updates that learning when it differs — a new version when its
  text, example, attributes or node changed; a status change must follow the allowed
  transitions; an entry exported at another ``version`` than the knowledge base now holds is a
  conflict (export again and redo the edit);
- an entry with an unknown ``id`` is created as written (restoring an export elsewhere);
- an entry without ``id`` is a new learning written by hand: approved, and ``active``
  (deploy-and-learn) or ``proposed`` (learn-then-deploy) unless it says its ``status``; when its
  node already holds a proposed or active learning with the same text, it is already there
  (importing one file twice adds nothing twice).
  ``node`` may be a key (``/home/knives``) or a category path (``Home > Knives``); missing nodes
  are created.

Learnings missing from the file are left alone: to retire one, set its ``status: deprecated``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dissensus.domain import ROOT_KEY, CategoryPath, Learning, LearningStatus
from dissensus.errors import KnowledgeError
from dissensus.knowledge._rows import check_text, record, snapshot, union
from dissensus.knowledge._text import normalize_text
from dissensus.knowledge.deployment import DeploymentPolicy
from dissensus.knowledge.knowledge_base import TRANSITIONS, KnowledgeBase
from dissensus.knowledge.tree import ROOT_NAME, depth_of, parent_of
from dissensus.knowledge.versions import current_state, head_version
from dissensus.storage import KbNode, LearningRow, utcnow

__all__ = ["FORMAT", "ImportReport", "export_yaml", "import_yaml"]

FORMAT = "dissensus-kb/1"
"""The ``format:`` line of an export; import refuses files of another format."""

_HEADER = """\
# dissensus knowledge base. Edit, then `dissensus kb import FILE` (validated, recorded in the
# history). Add a learning by writing an entry without `id`; retire one with status: deprecated.
"""
_LIVE = ("proposed", "active")
_CONTENT = ("node", "text", "example", "attributes")
"""Fields whose change makes a new version of a learning."""


class ImportReport(BaseModel):
    """What an import changed."""

    added: list[str] = Field(default_factory=list)
    """Ids of the learnings created (hand-written entries get new ids)."""
    updated: list[str] = Field(default_factory=list)
    unchanged: int = 0
    nodes_created: list[str] = Field(default_factory=list)
    version: int = 0
    """The KB version after the import."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    name: str


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=32)
    node: str
    status: LearningStatus | None = None
    approved: bool | None = None
    version: int | None = Field(default=None, ge=1)
    attributes: list[str] = Field(default_factory=list)
    text: str
    example: str = ""
    sources: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    version: int | None = None
    """The KB version at export; informational."""
    nodes: list[_Node] = Field(default_factory=list)
    learnings: list[_Entry] = Field(default_factory=list)


# --- export ---------------------------------------------------------------------------------


def export_yaml(kb: KnowledgeBase) -> str:
    """Every node and learning as YAML in a stable order (usage counters are not exported)."""
    with kb.database.read() as session:
        state = current_state(session)
    nodes = sorted(state.nodes.values(), key=lambda n: n.key.split("/"))
    learnings = sorted(state.learnings.values(), key=lambda lr: (lr.node.split("/"), lr.id))
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": state.version,
        "nodes": [{"key": n.key, "name": n.name} for n in nodes],
        "learnings": [_entry(lr) for lr in learnings],
    }
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return _HEADER + body


def _entry(learning: Learning) -> dict[str, Any]:
    return {
        "id": learning.id,
        "node": learning.node,
        "status": learning.status,
        "approved": learning.approved,
        "version": learning.version,
        "attributes": list(learning.attributes),
        "text": learning.text,
        "example": learning.example,
        "sources": list(learning.sources),
        "created_at": _stamp(learning.created_at),
        "updated_at": _stamp(learning.updated_at),
    }


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


# --- import ---------------------------------------------------------------------------------


def import_yaml(
    kb: KnowledgeBase,
    text: str,
    *,
    actor: str,
    policy: DeploymentPolicy | None = None,
    origin: str = "",
) -> ImportReport:
    """Validate an export (edited or not) and apply it in one transaction.

    Args:
        text: The YAML text.
        actor: Who imports; every event is attributed to them.
        policy: Decides the status of hand-written entries that give none.
        origin: Where the text came from (a file name), for the events' reason.

    Raises:
        KnowledgeError: Listing every problem found (nothing is written then).
    """
    policy = policy or DeploymentPolicy()
    parsed = _parse(text, origin)
    reason = f"import {origin}".strip()
    with kb.database.write() as session:
        plan = _Plan(session, policy, actor, reason)
        plan.check(parsed)
        if plan.problems:
            where = f" {origin!r}" if origin else ""
            raise KnowledgeError(
                f"cannot import{where}: "
                + "; ".join(plan.problems)
                + " (nothing was imported; fix the file and import again)"
            )
        plan.apply(parsed)
        plan.report.version = head_version(session)
        return plan.report


def _parse(text: str, origin: str) -> _File:
    where = f" {origin!r}" if origin else ""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"knowledge file{where} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeError(
            f"knowledge file{where} must be a mapping with 'learnings:' (see `dissensus kb export`)"
        )
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise KnowledgeError(f"knowledge file{where} is invalid: {problems}") from exc
    if parsed.format != FORMAT:
        raise KnowledgeError(
            f"knowledge file{where} has format {parsed.format!r}; this dissensus reads {FORMAT!r}"
        )
    return parsed


class _Plan:
    """Checks then applies one import inside one write session."""

    def __init__(self, session: Session, policy: DeploymentPolicy, actor: str, reason: str) -> None:
        self.session = session
        self.policy = policy
        self.actor = actor
        self.reason = reason
        self.problems: list[str] = []
        self.report = ImportReport()
        self.nodes: dict[str, str] = {
            k: n for k, n in session.execute(select(KbNode.key, KbNode.name))
        }
        self.new_nodes: dict[str, str] = {}

    # --- checking -------------------------------------------------------------------------

    def check(self, parsed: _File) -> None:
        for i, node in enumerate(parsed.nodes):
            if not node.key.startswith("/") or not node.name.strip():
                self.problems.append(f"nodes[{i}]: a node needs a key starting with '/' and a name")
                continue
            if node.key not in self.nodes:
                self.new_nodes.setdefault(node.key, node.name.strip())
        seen: set[str] = set()
        for i, entry in enumerate(parsed.learnings):
            label = f"learnings[{i}]" + (f" ({entry.id})" if entry.id else "")
            try:
                entry.node = self._node_key(entry.node)
            except ValueError as exc:
                self.problems.append(f"{label}: {exc}")
                continue
            entry.attributes, entry.sources = union(entry.attributes), union(entry.sources)
            try:
                entry.text, entry.example = check_text(entry.text, entry.example, what=label)
            except KnowledgeError as exc:
                self.problems.append(str(exc))
            if entry.id is None:
                continue
            if entry.id in seen:
                self.problems.append(f"{label}: the id appears twice in the file")
            seen.add(entry.id)
            row = self.session.get(LearningRow, entry.id)
            if row is not None:
                self._check_update(label, entry, row)
        for key in sorted({*self.new_nodes}, key=depth_of):
            parent = parent_of(key)
            if parent is not None and parent not in self.nodes and parent not in self.new_nodes:
                self.problems.append(f"node {key!r}: its parent {parent!r} is not in the file")

    def _node_key(self, node: str) -> str:
        node = node.strip()
        if node.startswith("/"):
            if node not in self.nodes and node not in self.new_nodes:
                raise ValueError(f"node {node!r} does not exist; add it under 'nodes:'")
            return node
        path = CategoryPath.parse(node)  # ValueError names the problem
        keys = path.ancestor_keys()
        for key, name in zip(keys[1:], path.parts, strict=True):
            if key not in self.nodes:
                self.new_nodes.setdefault(key, name)
        return keys[-1]

    def _check_update(self, label: str, entry: _Entry, row: LearningRow) -> None:
        if entry.version is not None and entry.version != row.version and self._differs(entry, row):
            self.problems.append(
                f"{label}: edited from version {entry.version} but the knowledge base now holds "
                f"version {row.version}; export again and redo the edit"
            )
        if entry.status is not None and entry.status != row.status:
            current: LearningStatus = row.status  # type: ignore[assignment]
            if entry.status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current]))
                self.problems.append(
                    f"{label}: is {current}; it cannot become {entry.status} "
                    f"(from {current} it can become: {allowed})"
                )

    def _differs(self, entry: _Entry, row: LearningRow) -> bool:
        return (
            any(getattr(entry, f) != getattr(row, _column(f)) for f in _CONTENT)
            or (entry.status is not None and entry.status != row.status)
            or (entry.approved is not None and entry.approved != row.approved)
            or entry.sources != list(row.sources)
        )

    # --- applying -------------------------------------------------------------------------

    def apply(self, parsed: _File) -> None:
        if ROOT_KEY not in self.nodes and self.new_nodes:
            self.new_nodes.setdefault(ROOT_KEY, ROOT_NAME)
        for key in sorted(self.new_nodes, key=lambda k: (depth_of(k), k)):
            name, parent = self.new_nodes[key], parent_of(key)
            self.session.add(KbNode(key=key, name=name, parent_key=parent))
            self.session.flush()
            after = {"key": key, "name": name, "parent_key": parent}
            record(
                self.session,
                "create_node",
                self.actor,
                self.reason,
                node_key=key,
                before=None,
                after=after,
            )
            self.nodes[key] = name
            self.report.nodes_created.append(key)
        for entry in parsed.learnings:
            row = (
                self.session.get(LearningRow, entry.id, with_for_update=True) if entry.id else None
            )
            if entry.id is None and self._already_there(entry):
                self.report.unchanged += 1
            elif row is None:
                self._create(entry)
            else:
                self._update(entry, row)

    def _already_there(self, entry: _Entry) -> bool:
        # Importing the same edited file twice must not add its hand-written entries twice.
        wanted = normalize_text(entry.text)
        texts = self.session.scalars(
            select(LearningRow.text).where(
                LearningRow.node_key == entry.node, LearningRow.status.in_(_LIVE)
            )
        )
        return any(normalize_text(t) == wanted for t in texts)

    def _create(self, entry: _Entry) -> None:
        by_hand = entry.id is None
        default: LearningStatus = self.policy.authored_status
        now = utcnow()
        created = entry.created_at or now
        row = LearningRow(
            id=entry.id or self._new_id(),
            node_key=entry.node,
            attributes=union(entry.attributes),
            text=entry.text,
            example=entry.example,
            status=entry.status or default,
            approved=entry.approved if entry.approved is not None else by_hand,
            version=entry.version or 1,
            sources=union(entry.sources),
            uses=0,
            created_at=created,
            updated_at=entry.updated_at or created,
        )
        self.session.add(row)
        self.session.flush()
        why = self.reason + (" (written by hand)" if by_hand else "")
        self._event(row, None, why)
        self.report.added.append(row.id)

    def _update(self, entry: _Entry, row: LearningRow) -> None:
        if not self._differs(entry, row):
            self.report.unchanged += 1
            return
        before = snapshot(row)
        content = any(getattr(entry, f) != getattr(row, _column(f)) for f in _CONTENT)
        row.node_key, row.text, row.example = entry.node, entry.text, entry.example
        row.attributes, row.sources = list(entry.attributes), list(entry.sources)
        if entry.status is not None:
            row.status = entry.status
        if entry.approved is not None:
            row.approved = entry.approved
        if content:
            row.version += 1
        row.updated_at = utcnow()
        self.session.flush()
        self._event(row, before, self.reason)
        self.report.updated.append(row.id)

    def _event(self, row: LearningRow, before: dict[str, Any] | None, reason: str) -> None:
        record(
            self.session,
            "import",
            self.actor,
            reason,
            learning_id=row.id,
            node_key=row.node_key,
            before=before,
            after=snapshot(row),
        )

    def _new_id(self) -> str:
        while True:
            candidate = f"L-{secrets.token_hex(3)}"
            if self.session.get(LearningRow, candidate) is None:
                return candidate


def _column(field: str) -> str:
    return "node_key" if field == "node" else field
