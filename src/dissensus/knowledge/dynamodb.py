"""The knowledge base on Amazon DynamoDB, for teams that keep their shared state there.

The same public methods, errors and history as :class:`~dissensus.knowledge.KnowledgeBase`, and
the same test suite (``tests/knowledge/test_knowledge_base.py`` runs on both). Three tables share
a prefix:

``<prefix>-nodes``
    One item per node, keyed by its materialized path (``/shoes/sneakers``), with its name, its
    parent and a ``rev`` counter that every add under ``unless=`` bumps.
``<prefix>-learnings``
    One item per learning, keyed by id. A global secondary index ``by-kind-status`` (partition
    ``kind#status``, sort key the node path) answers what prompts ask for: the active values of
    a subtree are one ``Query`` with ``begins_with``, never a ``Scan``.
``<prefix>-events``
    The append-only history: partition ``stream = "kb"``, sort key ``seq``. The next ``seq``
    comes from an atomic counter item (``stream = "counter"``); an event is written with
    ``attribute_not_exists`` so nothing ever overwrites one.

DynamoDB has no multi-statement transactions of the SQL kind, so each change is one
``TransactWriteItems``: the learning's new state, conditioned on the item's revision counter
``rev`` as it was read (optimistic concurrency), and its history event. When another writer got
there first the condition fails, the method reads again and retries, so two writers never lose an
update and the history never disagrees with the items. An add with ``unless=`` (the memory
manager's duplicate check) conditions on the node's ``rev`` instead, which serializes adds to
one node the way ``SELECT ... FOR UPDATE`` does on PostgreSQL.

A failed transaction leaves a gap in ``seq`` (the counter moved, no event was written): the
KB version is still the ``seq`` of the last event, and versions stay ordered.

Needs boto3 (the ``aws`` extra). The client is passed in (:func:`dynamodb_client`), so nothing
here talks to AWS on import. Large trees would want a parent index for :meth:`children`; trees
of thousands of nodes read in one ``Scan``.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from dissensus.domain import (
    ROOT_KEY,
    CategoryPath,
    Learning,
    LearningDraft,
    LearningKind,
    LearningStatus,
)
from dissensus.errors import KnowledgeError, MissingExtraError
from dissensus.knowledge._rows import check_text, union, unknown_learning
from dissensus.knowledge._text import bm25_rank
from dissensus.knowledge.history import Event, EventOp
from dissensus.knowledge.knowledge_base import TRANSITIONS, DuplicateLearning
from dissensus.knowledge.retrieval import select_for_prompt
from dissensus.knowledge.tree import ROOT_NAME, NodeInfo, child_key, depth_of, parent_of
from dissensus.storage import utcnow

__all__ = [
    "DynamoClient",
    "DynamoKnowledgeBase",
    "create_knowledge_tables",
    "dynamodb_client",
]

_INDEX = "by-kind-status"
_STREAM = "kb"
_COUNTER = "counter"
_RETRIES = 20
"""Optimistic retries of one change before giving up: each retry means another writer changed
the same learning (or node) in between, so twenty in a row is a hot spot worth an error."""
_EDITABLE: frozenset[str] = frozenset({"proposed", "active"})


class DynamoClient(Protocol):
    """The part of boto3's DynamoDB client this module calls."""

    def create_table(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_table(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...
    def put_item(self, **kwargs: Any) -> dict[str, Any]: ...
    def update_item(self, **kwargs: Any) -> dict[str, Any]: ...
    def query(self, **kwargs: Any) -> dict[str, Any]: ...
    def scan(self, **kwargs: Any) -> dict[str, Any]: ...
    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]: ...


def dynamodb_client(*, endpoint_url: str | None = None, region: str | None = None) -> DynamoClient:
    """A boto3 DynamoDB client (credentials and region from the usual AWS settings).

    Raises:
        MissingExtraError: boto3 is not installed.
    """
    if importlib.util.find_spec("boto3") is None:
        raise MissingExtraError("aws", "the DynamoDB knowledge base")
    import boto3

    client: DynamoClient = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    return client


def create_knowledge_tables(client: DynamoClient, prefix: str) -> None:
    """Create the three tables (on-demand billing) and wait until they are active.

    Tables that already exist are left as they are, so this is safe to run at every start.
    """
    s, n = {"AttributeType": "S"}, {"AttributeType": "N"}
    specs: list[dict[str, Any]] = [
        {
            "TableName": f"{prefix}-nodes",
            "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "key", **s}],
        },
        {
            "TableName": f"{prefix}-learnings",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "id", **s},
                {"AttributeName": "kind_status", **s},
                {"AttributeName": "node_key", **s},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": _INDEX,
                    "KeySchema": [
                        {"AttributeName": "kind_status", "KeyType": "HASH"},
                        {"AttributeName": "node_key", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
        {
            "TableName": f"{prefix}-events",
            "KeySchema": [
                {"AttributeName": "stream", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "stream", **s},
                {"AttributeName": "seq", **n},
            ],
        },
    ]
    for spec in specs:
        try:
            _call(client.create_table, BillingMode="PAY_PER_REQUEST", **spec)
        except KnowledgeError as exc:
            if "ResourceInUseException" not in str(exc):
                raise
    for spec in specs:
        for _ in range(120):
            table = _call(client.describe_table, TableName=spec["TableName"])["Table"]
            if table.get("TableStatus") == "ACTIVE":
                break
            time.sleep(0.5)


class _Conflict(Exception):
    """Another writer changed what this change was conditioned on; read again and retry."""


def _call(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Call one DynamoDB operation; AWS's errors become a :class:`KnowledgeError` naming it,
    and a failed condition a :class:`_Conflict` for the caller's retry loop."""
    try:
        return operation(**kwargs)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "botocore":
            raise
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            failed = {r.get("Code") for r in reasons}
            if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in failed:
                raise _Conflict(str(exc)) from exc
        name = getattr(operation, "__name__", "request")
        raise KnowledgeError(
            f"DynamoDB {name} failed ({code or type(exc).__name__}): {exc}"
        ) from exc


# --- item <-> model --------------------------------------------------------------------------


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _learning_item(learning: Learning, rev: int = 0) -> dict[str, Any]:
    """A learning as a DynamoDB item. Lists and the values map are JSON strings: their order
    is provenance (oldest case first) and a value may be ``None``, which neither a DynamoDB
    set nor a map keeps as the domain model means it."""
    assert learning.created_at is not None and learning.updated_at is not None
    return {
        "id": _s(learning.id),
        "node_key": _s(learning.node),
        "kind_status": _s(f"{learning.kind}#{learning.status}"),
        "kind": _s(learning.kind),
        "status": _s(learning.status),
        "text": _s(learning.text),
        "example": _s(learning.example),
        "attributes": _s(json.dumps(learning.attributes, ensure_ascii=False)),
        "sources": _s(json.dumps(learning.sources, ensure_ascii=False)),
        "values": _s(json.dumps(learning.values, ensure_ascii=False)),
        "approved": {"BOOL": learning.approved},
        "version": _n(learning.version),
        "uses": _n(learning.uses),
        "helpful": _n(learning.helpful),
        "harmful": _n(learning.harmful),
        "created_at": _s(learning.created_at.isoformat()),
        "updated_at": _s(learning.updated_at.isoformat()),
        "rev": _n(rev),
    }


_KEPT_ON_CHANGE = frozenset({"id", "uses", "rev"})
"""Item attributes a change leaves alone: the key, the usage counter (``record_uses`` adds to it
without taking part in the revision check, so a busy learning's edits never fail over it) and the
revision, which the change sets itself."""


def _to_learning(item: Mapping[str, Any]) -> Learning:
    return Learning(
        id=item["id"]["S"],
        node=item["node_key"]["S"],
        attributes=json.loads(item["attributes"]["S"]),
        text=item["text"]["S"],
        example=item["example"]["S"],
        kind=item["kind"]["S"],
        values=json.loads(item["values"]["S"]),
        status=item["status"]["S"],
        approved=item["approved"]["BOOL"],
        version=int(item["version"]["N"]),
        sources=json.loads(item["sources"]["S"]),
        uses=int(item["uses"]["N"]),
        helpful=int(item["helpful"]["N"]),
        harmful=int(item["harmful"]["N"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
    )


def _to_event(item: Mapping[str, Any]) -> Event:
    def optional(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def document(name: str) -> dict[str, Any] | None:
        return json.loads(item[name]["S"]) if name in item else None

    return Event(
        seq=int(item["seq"]["N"]),
        at=datetime.fromisoformat(item["at"]["S"]),
        actor=item["actor"]["S"],
        op=item["op"]["S"],
        learning_id=optional("learning_id"),
        node_key=optional("node_key"),
        before=document("before"),
        after=document("after"),
        reason=item["reason"]["S"],
    )


def _dump(learning: Learning) -> dict[str, Any]:
    return learning.model_dump(mode="json")


class DynamoKnowledgeBase:
    """The knowledge tree, its learnings and their history in DynamoDB tables.

    Args:
        client: A DynamoDB client (:func:`dynamodb_client`).
        prefix: The tables' common name prefix (:func:`create_knowledge_tables` makes them).
    """

    def __init__(self, client: DynamoClient, prefix: str) -> None:
        self._client = client
        self._nodes = f"{prefix}-nodes"
        self._learnings = f"{prefix}-learnings"
        self._events = f"{prefix}-events"

    # --- nodes ----------------------------------------------------------------------------

    def ensure_path(self, path: CategoryPath, *, actor: str = "system") -> str:
        """Create the missing nodes of ``path`` from the root down; return the leaf's key."""
        parent = self._ensure_node(ROOT_KEY, ROOT_NAME, None, actor, "")
        for name in path.parts:
            parent = self._ensure_node(child_key(parent, name), name, parent, actor, f"path {path}")
        return parent

    def ensure_child(self, parent_key: str, name: str, *, actor: str, reason: str = "") -> str:
        """Create (if missing) the child ``name`` under an existing node; return its key."""
        name = name.strip()
        if not name:
            raise KnowledgeError(f"cannot create an unnamed child under {parent_key!r}; name it")
        self._require_node(parent_key)
        return self._ensure_node(child_key(parent_key, name), name, parent_key, actor, reason)

    def node(self, key: str) -> NodeInfo:
        """Describe one node; raises :class:`KnowledgeError` if there is no such node."""
        return self._infos([self._require_node(key)])[0]

    def children(self, key: str) -> builtins.list[NodeInfo]:
        """The direct children of a node, by key."""
        rows = [n for n in self._scan(self._nodes) if n.get("parent_key", {}).get("S") == key]
        return self._infos(sorted(rows, key=lambda n: n["key"]["S"]))

    def tree(self) -> builtins.list[NodeInfo]:
        """Every node, a parent right before its subtree."""
        infos = self._infos(list(self._scan(self._nodes)))
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
        """Add a new learning to an existing node (``add`` event); see
        :meth:`KnowledgeBase.add`. ``unless`` is asked against the node's live learnings of
        ``kind`` read at the node's current ``rev``, and the write is conditioned on that
        ``rev``, so two writers adding the same learning add it once."""
        text, example = check_text(text, example, what=f"add to {node_key!r}")
        for _ in range(_RETRIES):
            node = self._require_node(node_key)
            rev = int(node.get("rev", {}).get("N", "0"))
            if unless is not None:
                live = [
                    learning
                    for status_ in ("active", "proposed")
                    for learning in self._by_kind_status(kind, status_, exact=[node_key])
                ]
                live.sort(key=lambda x: (x.created_at or utcnow(), x.id))
                duplicate = unless(live)
                if duplicate is not None:
                    raise DuplicateLearning(duplicate)
            now = utcnow()
            learning = Learning(
                id=f"L-{secrets.token_hex(3)}",
                node=node_key,
                attributes=union(attributes),
                text=text,
                example=example,
                kind=kind,
                values=dict(values or {}),
                status=status,
                approved=approved,
                version=1,
                sources=union(sources),
                created_at=now,
                updated_at=now,
            )
            writes = [self._put_new(learning)]
            if unless is not None:
                writes.append(self._bump_node(node_key, rev))
            try:
                self._commit(writes, "add", actor, reason, learning, before=None)
            except _Conflict:
                continue  # an id clash or another add to the node: read again
            return learning
        raise self._hot(f"add to {node_key!r}")

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
        """Fold new knowledge into an existing learning: new text, version + 1, sources united."""
        text, example = check_text(text, example, what=f"merge into {into_id!r}")

        def change(old: Learning) -> Learning:
            return _new_version(
                old,
                text=text,
                example=example,
                attributes=attributes,
                sources=union(old.sources, sources),
            )

        return self._change(into_id, "merge", actor, reason, change, editable="merge into")

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
        """Supersede a learning: the old one becomes ``deprecated``, a new one takes its node
        (one ``replace`` event filed under the new id, ``before`` the old learning)."""
        text, example = check_text(text, example, what=f"replace {old_id!r}")
        for _ in range(_RETRIES):
            old, rev = self._read(old_id)
            self._check_editable(old, "replace")
            now = utcnow()
            retired = old.model_copy(update={"status": "deprecated", "updated_at": now})
            new = Learning(
                id=f"L-{secrets.token_hex(3)}",
                node=old.node,
                attributes=union(old.attributes if attributes is None else attributes),
                text=text,
                example=example,
                status=status,
                version=1,
                sources=union(sources),
                created_at=now,
                updated_at=now,
            )
            writes = [self._overwrite(retired, rev), self._put_new(new)]
            try:
                self._commit(writes, "replace", actor, reason, new, before=_dump(old))
            except _Conflict:
                continue
            return new
        raise self._hot(f"replace {old_id!r}")

    def discard(
        self,
        reason: str,
        draft: LearningDraft,
        actor: str,
        *,
        node_key: str | None = None,
        duplicate_of: str | None = None,
    ) -> Event:
        """Record that a draft was not placed (a ``discard`` event; nothing else changes)."""
        event = self._event_item(
            "discard",
            actor,
            reason,
            learning_id=duplicate_of,
            node_key=node_key,
            before=None,
            after=draft.model_dump(mode="json"),
        )
        self._write([self._put_event(event)])
        return _to_event(event)

    def confirm(
        self,
        learning_id: str,
        source: str,
        *,
        actor: str,
        activate_after: int | None = None,
        reason: str = "",
    ) -> Learning:
        """Count a later case that drafted this learning again; see
        :meth:`KnowledgeBase.confirm`. The confirmation and the activation it may cause are two
        conditioned writes, each with its event."""
        learning = self.get(learning_id)
        if source and source not in learning.sources:
            why = reason or f"drafted again by {source}"
            learning = self._change(
                learning_id,
                "confirm",
                actor,
                why,
                lambda old: old.model_copy(update={"sources": union(old.sources, [source])}),
                skip=lambda old: source in old.sources,
            )
        confirmations = max(0, len(learning.sources) - 1)
        if (
            activate_after is not None
            and learning.status == "proposed"
            and confirmations >= activate_after
        ):
            why = f"confirmed by {confirmations} later case(s) (needs {activate_after})"
            learning = self._change(
                learning_id,
                "status",
                actor,
                why,
                lambda old: old.model_copy(update={"status": "active", "updated_at": utcnow()}),
                skip=lambda old: old.status != "proposed",
            )
        return learning

    def set_status(
        self, learning_id: str, status: LearningStatus, actor: str, reason: str = ""
    ) -> Learning:
        """Move a learning along :data:`TRANSITIONS` (a ``status`` event)."""

        def change(old: Learning) -> Learning:
            if status not in TRANSITIONS[old.status]:
                allowed = ", ".join(sorted(TRANSITIONS[old.status]))
                raise KnowledgeError(
                    f"learning {learning_id!r} is {old.status}; it cannot become {status} "
                    f"(from {old.status} it can become: {allowed})"
                )
            return old.model_copy(update={"status": status, "updated_at": utcnow()})

        return self._change(learning_id, "status", actor, reason, change)

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
        """Correct a learning by hand (an ``edit`` event; version + 1, sources unchanged)."""

        def change(old: Learning) -> Learning:
            new_text, new_example = check_text(
                old.text if text is None else text,
                old.example if example is None else example,
                what=f"edit {learning_id!r}",
            )
            return _new_version(
                old, text=new_text, example=new_example, attributes=attributes, sources=old.sources
            )

        return self._change(learning_id, "edit", actor, reason, change, editable="edit")

    # --- learnings: reading ---------------------------------------------------------------

    def get(self, learning_id: str) -> Learning:
        """One learning by id; raises :class:`KnowledgeError` if unknown."""
        return self._read(learning_id)[0]

    def list(
        self,
        node_key: str | None = None,
        status: LearningStatus | None = None,
        *,
        kind: LearningKind | None = None,
    ) -> builtins.list[Learning]:
        """Learnings, optionally on one node, with one status and/or of one kind, oldest first."""
        found = [_to_learning(item) for item in self._scan(self._learnings)]
        found = [
            x
            for x in found
            if (node_key is None or x.node == node_key)
            and (status is None or x.status == status)
            and (kind is None or x.kind == kind)
        ]
        return sorted(found, key=lambda x: (x.node, x.created_at or utcnow(), x.id))

    def history(
        self, limit: int | None = None, learning_id: str | None = None
    ) -> builtins.list[Event]:
        """Recorded changes in the order they happened, oldest first (see
        :meth:`KnowledgeBase.history`)."""
        events: builtins.list[Event] = []
        for item in self._query_events(newest_first=True):
            event = _to_event(item)
            if learning_id is not None and not _touches(event, learning_id):
                continue
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
        return events[::-1]

    def version(self) -> int:
        """The KB version: the ``seq`` of the last event (0 for an empty knowledge base)."""
        for item in self._query_events(newest_first=True, page=1):
            return int(item["seq"]["N"])
        return 0

    # --- retrieval and search -------------------------------------------------------------

    def retrieve(
        self,
        path: CategoryPath,
        attributes: builtins.list[str] | None = None,
        *,
        budget_tokens: int = 400,
    ) -> builtins.list[Learning]:
        """Active rules for a prompt about ``path``: root to leaf, filtered, ranked, cut."""
        keys = path.ancestor_keys()
        candidates = self._by_kind_status("rule", "active", exact=keys)
        depth = {key: i for i, key in enumerate(keys)}
        return select_for_prompt(candidates, depth, attributes, budget_tokens=budget_tokens)

    def learned(self, path: CategoryPath, kind: LearningKind) -> builtins.list[Learning]:
        """Active ``value`` or ``example`` learnings on the path's nodes and in its subtree."""
        keys = path.ancestor_keys()
        leaf = keys[-1].rstrip("/")
        found = self._by_kind_status(kind, "active", exact=keys, below=leaf)
        return sorted(found, key=lambda x: (x.created_at or utcnow(), x.id))

    def record_uses(self, ids: Iterable[str]) -> None:
        """Count one more prompt for each learning id (an atomic ``ADD``, no history event)."""
        for learning_id in sorted(set(ids)):
            try:
                _call(
                    self._client.update_item,
                    TableName=self._learnings,
                    Key={"id": _s(learning_id)},
                    UpdateExpression="ADD #u :one",
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeNames={"#u": "uses"},
                    ExpressionAttributeValues={":one": _n(1)},
                )
            except _Conflict:
                continue  # no such learning: SQL's UPDATE ... WHERE id IN (...) skips it too

    def search(
        self,
        text: str,
        *,
        limit: int = 5,
        node_prefix: str | None = None,
        status: LearningStatus | None = "active",
    ) -> builtins.list[Learning]:
        """Learnings lexically closest to ``text`` (BM25 over text, example, attributes, node)."""
        learnings = [_to_learning(item) for item in self._scan(self._learnings)]
        if status is not None:
            learnings = [x for x in learnings if x.status == status]
        if node_prefix is not None and node_prefix != ROOT_KEY:
            prefix = node_prefix.rstrip("/")
            learnings = [
                x for x in learnings if x.node == prefix or x.node.startswith(prefix + "/")
            ]
        learnings.sort(key=lambda x: x.id)
        documents = [
            " ".join([x.text, x.example, *x.attributes, x.node.replace("/", " ")])
            for x in learnings
        ]
        return [learnings[i] for i, _ in bm25_rank(text, documents)[:limit]]

    # --- internals: reads -----------------------------------------------------------------

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = _call(self._client.scan, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = _call(self._client.query, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_events(
        self, *, newest_first: bool, page: int | None = None
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._events,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "stream"},
            "ExpressionAttributeValues": {":s": _s(_STREAM)},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if page is not None:
            kwargs["Limit"] = page
            yield from _call(self._client.query, **kwargs).get("Items", [])
            return
        yield from self._query(**kwargs)

    def _by_kind_status(
        self,
        kind: str,
        status: str,
        *,
        exact: Sequence[str] = (),
        below: str | None = None,
    ) -> builtins.list[Learning]:
        """Learnings of one kind and status on the ``exact`` nodes and under ``below``/, through
        the index (one ``Query`` per key, none of them a ``Scan``)."""
        found: dict[str, Learning] = {}
        conditions: builtins.list[tuple[str, str]] = [("#n = :n", key) for key in exact]
        if below is not None and below != "":
            conditions.append(("begins_with(#n, :n)", below + "/"))
        for condition, value in conditions:
            for item in self._query(
                TableName=self._learnings,
                IndexName=_INDEX,
                KeyConditionExpression=f"#ks = :ks AND {condition}",
                ExpressionAttributeNames={"#ks": "kind_status", "#n": "node_key"},
                ExpressionAttributeValues={":ks": _s(f"{kind}#{status}"), ":n": _s(value)},
            ):
                learning = _to_learning(item)
                found[learning.id] = learning
        # The index is eventually consistent: confirm what it returned against the items.
        return [x for x in found.values() if x.kind == kind and x.status == status]

    def _require_node(self, key: str) -> dict[str, Any]:
        item: dict[str, Any] | None = _call(
            self._client.get_item,
            TableName=self._nodes,
            Key={"key": _s(key)},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise KnowledgeError(
                f"knowledge node {key!r} does not exist; create it first with "
                "KnowledgeBase.ensure_path(CategoryPath.parse(...)) or ensure_child()"
            )
        return item

    def _read(self, learning_id: str) -> tuple[Learning, int]:
        """A learning and its revision, read consistently."""
        item = _call(
            self._client.get_item,
            TableName=self._learnings,
            Key={"id": _s(learning_id)},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise unknown_learning(learning_id)
        return _to_learning(item), int(item.get("rev", {}).get("N", "0"))

    @staticmethod
    def _check_editable(learning: Learning, action: str) -> None:
        if learning.status not in _EDITABLE:
            raise KnowledgeError(
                f"cannot {action} learning {learning.id!r}: it is {learning.status}; "
                f"reactivate it first with set_status({learning.id!r}, 'active', ...)"
            )

    def _infos(self, nodes: Sequence[Mapping[str, Any]]) -> builtins.list[NodeInfo]:
        if not nodes:
            return []
        keys = {n["key"]["S"] for n in nodes}
        counts: dict[str, dict[LearningStatus, int]] = {k: {} for k in keys}
        for learning in (_to_learning(item) for item in self._scan(self._learnings)):
            if learning.node in counts:
                bucket = counts[learning.node]
                bucket[learning.status] = bucket.get(learning.status, 0) + 1
        infos = []
        for n in nodes:
            key = n["key"]["S"]
            parent = n["parent_key"]["S"] if "parent_key" in n else parent_of(key)
            infos.append(
                NodeInfo(
                    key=key,
                    name=n["name"]["S"],
                    depth=depth_of(key),
                    parent=parent,
                    counts=counts[key],
                )
            )
        return infos

    # --- internals: writes ----------------------------------------------------------------

    def _ensure_node(self, key: str, name: str, parent: str | None, actor: str, reason: str) -> str:
        existing = _call(
            self._client.get_item,
            TableName=self._nodes,
            Key={"key": _s(key)},
            ConsistentRead=True,
        )
        if "Item" in existing:
            return key
        node: dict[str, Any] = {"key": _s(key), "name": _s(name), "rev": _n(0)}
        if parent is not None:
            node["parent_key"] = _s(parent)
        after = {"key": key, "name": name, "parent_key": parent}
        event = self._event_item(
            "create_node", actor, reason, node_key=key, before=None, after=after
        )
        put = {
            "Put": {
                "TableName": self._nodes,
                "Item": node,
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        }
        try:
            self._write([put, self._put_event(event)])
        except _Conflict:
            pass  # it exists (perhaps made a moment ago by another writer)
        return key

    def _change(
        self,
        learning_id: str,
        op: EventOp,
        actor: str,
        reason: str,
        change: Callable[[Learning], Learning],
        *,
        editable: str | None = None,
        skip: Callable[[Learning], bool] | None = None,
    ) -> Learning:
        """Read, change and write one learning with its event, retrying while another writer
        changes it in between (the write is conditioned on the version and status read)."""
        for _ in range(_RETRIES):
            old, rev = self._read(learning_id)
            if editable is not None:
                self._check_editable(old, editable)
            if skip is not None and skip(old):
                return old
            new = change(old)
            try:
                self._commit([self._overwrite(new, rev)], op, actor, reason, new, _dump(old))
            except _Conflict:
                continue
            return new
        raise self._hot(f"{op} {learning_id!r}")

    def _commit(
        self,
        writes: builtins.list[dict[str, Any]],
        op: EventOp,
        actor: str,
        reason: str,
        learning: Learning,
        before: dict[str, Any] | None,
    ) -> None:
        event = self._event_item(
            op,
            actor,
            reason,
            learning_id=learning.id,
            node_key=learning.node,
            before=before,
            after=_dump(learning),
        )
        self._write([*writes, self._put_event(event)])

    def _write(self, items: builtins.list[dict[str, Any]]) -> None:
        _call(self._client.transact_write_items, TransactItems=items)

    def _put_new(self, learning: Learning) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._learnings,
                "Item": _learning_item(learning),
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }

    def _overwrite(self, learning: Learning, rev: int) -> dict[str, Any]:
        """Write a learning's new state only if its revision is still ``rev`` (as read)."""
        item = _learning_item(learning, rev + 1)
        fields = sorted(k for k in item if k not in _KEPT_ON_CHANGE)
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":f{i}": item[name] for i, name in enumerate(fields)}
        sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        return {
            "Update": {
                "TableName": self._learnings,
                "Key": {"id": _s(learning.id)},
                "UpdateExpression": f"SET {sets}, #rev = :next",
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeNames": {**names, "#rev": "rev"},
                "ExpressionAttributeValues": {**values, ":rev": _n(rev), ":next": _n(rev + 1)},
            }
        }

    def _bump_node(self, key: str, rev: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._nodes,
                "Key": {"key": _s(key)},
                "UpdateExpression": "SET #r = :next",
                "ConditionExpression": "#r = :rev",
                "ExpressionAttributeNames": {"#r": "rev"},
                "ExpressionAttributeValues": {":rev": _n(rev), ":next": _n(rev + 1)},
            }
        }

    def _next_seq(self) -> int:
        out = _call(
            self._client.update_item,
            TableName=self._events,
            Key={"stream": _s(_COUNTER), "seq": _n(0)},
            UpdateExpression="ADD #c :one",
            ExpressionAttributeNames={"#c": "next"},
            ExpressionAttributeValues={":one": _n(1)},
            ReturnValues="UPDATED_NEW",
        )
        return int(out["Attributes"]["next"]["N"])

    def _event_item(
        self,
        op: EventOp,
        actor: str,
        reason: str,
        *,
        learning_id: str | None = None,
        node_key: str | None = None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "stream": _s(_STREAM),
            "seq": _n(self._next_seq()),
            "at": _s(utcnow().isoformat()),
            "actor": _s(actor),
            "op": _s(op),
            "reason": _s(reason),
        }
        if learning_id is not None:
            item["learning_id"] = _s(learning_id)
        if node_key is not None:
            item["node_key"] = _s(node_key)
        if before is not None:
            item["before"] = _s(json.dumps(before, ensure_ascii=False))
        if after is not None:
            item["after"] = _s(json.dumps(after, ensure_ascii=False))
        return item

    def _put_event(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._events,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(seq)",
            }
        }

    @staticmethod
    def _hot(what: str) -> KnowledgeError:
        return KnowledgeError(
            f"{what}: other writers changed it {_RETRIES} times in a row while this change "
            "was being made; try again"
        )


def _new_version(
    old: Learning,
    *,
    text: str,
    example: str,
    attributes: Sequence[str] | None,
    sources: list[str],
) -> Learning:
    """A merge's or an edit's new state: version + 1, attributes kept unless given, and a
    proposed learning's approval withdrawn (nobody approved the new text yet), as the SQL
    store does."""
    return old.model_copy(
        update={
            "text": text,
            "example": example,
            "attributes": old.attributes if attributes is None else union(attributes),
            "sources": sources,
            "version": old.version + 1,
            "updated_at": utcnow(),
            "approved": old.approved and old.status != "proposed",
        }
    )


def _touches(event: Event, learning_id: str) -> bool:
    """Whether an event belongs to a learning's history (a replace is filed under the new id;
    the old id is only inside ``before``)."""
    if event.learning_id == learning_id:
        return True
    return event.op == "replace" and (event.before or {}).get("id") == learning_id
