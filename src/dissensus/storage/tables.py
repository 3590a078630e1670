"""Tables: the declarative schema every room reads and writes through SQLAlchemy.

Portable on purpose: no SQLite-only SQL, JSON through :class:`sqlalchemy.JSON`, timestamps stored
as UTC. The Alembic migrations in ``storage/migrations`` must produce exactly this metadata (a
test compares them), so a change here needs a new migration revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text  # `text` is also a column name below
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "KbEvent",
    "KbNode",
    "LearningFlagRow",
    "LearningRow",
    "ModelCall",
    "ReviewItemRow",
    "Run",
    "RunProduct",
    "SignalRow",
    "TrackRecordRow",
    "UTCDateTime",
    "UserRow",
    "WebSessionRow",
    "utcnow",
]

# Named constraints keep migrations reproducible and let SQLite batch mode alter tables later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC; the default for every timestamp column."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite has no timezone type and returns naive values while PostgreSQL returns aware ones;
    normalizing here means callers compare and sort timestamps the same way on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite stores the text form; dropping the offset keeps values lexically sortable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the one metadata that migrations mirror."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


# --- knowledge tree -------------------------------------------------------------------------


class KbNode(Base):
    """A node of the knowledge tree, keyed by its materialized path (``/shoes/sneakers``)."""

    __tablename__ = "kb_nodes"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    """Display name as first written by a user or the supervisor (``Sneakers``)."""
    parent_key: Mapped[str | None] = mapped_column(
        String(512), ForeignKey("kb_nodes.key"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningRow(Base):
    """A learning placed on a node; versions change in place, the history keeps the past."""

    __tablename__ = "learnings"
    __table_args__ = (Index("ix_learnings_node_key_status", "node_key", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_key: Mapped[str] = mapped_column(String(512), ForeignKey("kb_nodes.key"))
    attributes: Mapped[list[str]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text)
    example: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(default=1)
    sources: Mapped[list[str]] = mapped_column(default=list)
    uses: Mapped[int] = mapped_column(default=0)
    helpful: Mapped[int] = mapped_column(default=0)
    """Reviewed products on which the value it gave was confirmed by a person (revision 0008)."""
    harmful: Mapped[int] = mapped_column(default=0)
    """Reviewed products on which a person corrected the value it gave (revision 0008)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # --- knowledge governance (migration 0003) ---
    approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A person approved it; ``dissensus kb promote`` publishes approved proposed learnings."""
    # --- learnings as data (migration 0006) ---
    kind: Mapped[str] = mapped_column(String(16), default="rule", server_default="rule")
    """``rule``, ``value`` or ``example`` (:data:`dissensus.domain.LearningKind`)."""
    values: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=sql_text("'{}'")
    )
    """The structured content of ``value`` and ``example`` learnings."""


class KbEvent(Base):
    """One change to the knowledge base; ``seq`` is the KB version after the change."""

    __tablename__ = "kb_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    op: Mapped[str] = mapped_column(String(32))
    # No foreign keys on purpose: history must stay readable whatever happens to the rows.
    learning_id: Mapped[str | None] = mapped_column(String(32), index=True)
    node_key: Mapped[str | None] = mapped_column(String(512))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


# --- pipeline runs --------------------------------------------------------------------------


class Run(Base):
    """One enrichment run over an input file and a schema file."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32))
    input_path: Mapped[str] = mapped_column(Text)
    input_sha256: Mapped[str] = mapped_column(String(64))
    schema_path: Mapped[str] = mapped_column(Text)
    schema_sha256: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output_path: Mapped[str | None] = mapped_column(Text, default=None)
    """Where the run writes its output file (revision 0002); reviews rewrite it."""
    owner: Mapped[str | None] = mapped_column(String(200), default=None)
    """``host:pid:token`` of the process running it, while it runs (revision 0007)."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the owner last said it is alive; a silent owner's run may be resumed."""


class RunProduct(Base):
    """The finished output of one product in a run, in input order (``seq``)."""

    __tablename__ = "run_products"

    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    product_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(Text)
    output: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole output line, as written to the results file."""
    disputed_attributes: Mapped[int] = mapped_column(default=0)
    supervisor_called: Mapped[bool] = mapped_column(Boolean, default=False)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    supervisor: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The supervisor's answer when it was called (model, resolution or error): the reasoning
    behind a learning's provenance, kept with the record it settled."""


class ModelCall(Base):
    """One model call (all its attempts): cost, latency, failure, and the call log's texts."""

    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_run_seq", "run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    """The record (input line) the call worked on; ``None`` for rows before migration 0009."""
    stage: Mapped[str] = mapped_column(String(32))
    """The role that asked (``generator-a``, ``supervisor``, ``gate:generator-a``...)."""
    model: Mapped[str] = mapped_column(String(200))
    requests: Mapped[int] = mapped_column(default=1)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cache_read_tokens: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    """This call's own wall time (not its batch's)."""
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the call started."""
    system: Mapped[str | None] = mapped_column(Text, default=None)
    """The call log: texts as sent and received, capped and redacted; ``None`` when off."""
    prompt: Mapped[str | None] = mapped_column(Text, default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finish_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    learnings: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """Ids of the learnings in the prompt."""


# --- review queue and users (migration 0002) ------------------------------------------------


class ReviewItemRow(Base):
    """One output record waiting for (or closed by) a human reviewer; at most one per record."""

    __tablename__ = "review_items"
    __table_args__ = (
        ForeignKeyConstraint(["run_id", "seq"], ["run_products.run_id", "run_products.seq"]),
        UniqueConstraint("run_id", "seq"),
        CheckConstraint("state IN ('open', 'claimed', 'done')", name="state"),
        # The claim query: open (or expired) items by priority, oldest first.
        Index("ix_review_items_state_priority", "state", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    """``needs_human``, ``low_confidence``, ``unverified`` or ``audit``."""
    priority: Mapped[int] = mapped_column(Integer)
    """Lower is claimed first (follows the reason)."""
    attributes: Mapped[list[str]] = mapped_column(default=list)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Everything the reviewer sees: product, worker answers, verdicts, supervisor, learnings."""
    state: Mapped[str] = mapped_column(String(16), default="open")
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    claim_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    """After this a ``claimed`` item counts as open again (the visibility timeout)."""
    claims: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    submission: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class UserRow(Base):
    """A person who may log in to the web app; ``role`` is ``viewer``, ``reviewer`` or ``admin``."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'reviewer', 'admin')", name="role"),)

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False)
    """A disabled user cannot log in and their sessions have ended (revision 0008)."""


class WebSessionRow(Base):
    """One login to the web app: the cookie carries a token, this row its sha256 (revision 0008).

    A signed cookie alone stays valid until it expires, whatever happens on the server; with the
    row, logging out, a new password, disabling or removing the user end the session at once.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class ValueChangeRow(Base):
    """One change a person made to a stored value (revision 0011): the record's history."""

    __tablename__ = "value_changes"
    __table_args__ = (Index("ix_value_changes_run_seq", "run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    attribute: Mapped[str] = mapped_column(Text)
    before_value: Mapped[str | None] = mapped_column(Text, default=None)
    before_status: Mapped[str | None] = mapped_column(String(16), default=None)
    """``None`` when the attribute was not in the record before."""
    after_value: Mapped[str | None] = mapped_column(Text, default=None)
    after_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(64))
    """``review:ITEM`` for a submitted review, ``restore`` for a value put back by hand."""
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """A token a machine client sends as ``Authorization: Bearer`` (revision 0010).

    Only the sha256 of the token is kept; the token acts as ``user_name`` with ``role`` (never
    more than the user's own role at the time of the request), and ends when revoked or when
    the user is disabled or removed.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    """The token's public prefix, shown in listings (``dss_<id>_...``)."""
    label: Mapped[str] = mapped_column(String(100))
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


# --- post-inference signals and learning flags (migration 0004) -----------------------------


class SignalRow(Base):
    """One seller or customer signal received after inference, with its link and its triage."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("digest"),
        Index("ix_signals_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the raw record: ingesting the same file twice stores nothing twice."""
    kind: Mapped[str] = mapped_column(String(16))
    """``seller_edit``, ``appeal``, ``return`` or ``review``."""
    product_id: Mapped[str] = mapped_column(String(200))
    attribute: Mapped[str | None] = mapped_column(String(200), default=None)
    """The attribute it is about, as given or as triage determined it."""
    old_value: Mapped[str | None] = mapped_column(Text, default=None)
    new_value: Mapped[str | None] = mapped_column(Text, default=None)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200), default=None)
    """The seller or customer who sent it, when the file says (revision 0008)."""
    """Untrusted seller or customer text: data, never instructions."""
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """The run whose published result the signal is about (the latest one with the product)."""
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    published_value: Mapped[str | None] = mapped_column(Text, default=None)
    verdict: Mapped[str] = mapped_column(String(16))
    """``case`` (sent to the supervisor) or ``noise``."""
    contradicts: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(16), default="rule")
    """``rule`` or ``model``."""
    case_id: Mapped[str | None] = mapped_column(String(300), default=None)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    learnings: Mapped[list[str]] = mapped_column(default=list)
    """Learnings placed from its case (proposed until approved or confirmed)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningFlagRow(Base):
    """A learning that needs a person's look: a contradiction, or no measured benefit."""

    __tablename__ = "learning_flags"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'closed')", name="state"),
        Index("ix_learning_flags_learning_id", "learning_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    learning_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    """``contradiction``, ``no_effect`` or ``hurts``."""
    partner_id: Mapped[str | None] = mapped_column(String(32), default=None)
    """For a contradiction: the other learning."""
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackRecordRow(Base):
    """How the supervisor ruled on one worker's lone values of one attribute in one category
    (revision 0012): counters that ``consensus.routes`` turns into routes."""

    __tablename__ = "track_records"

    category: Mapped[str] = mapped_column(String(400), primary_key=True)
    """The category's knowledge-tree key (``/shoes/boots``): routes apply to that exact node."""
    attribute: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    upheld: Mapped[int] = mapped_column(Integer, default=0)
    absent: Mapped[int] = mapped_column(Integer, default=0)
    replaced: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
