"""What the review queue holds and hands out: items, their context, submissions, statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypedDict

from pydantic import BaseModel, Field

from dissensus.domain import (
    AttributeDispute,
    AttributeSpec,
    EnrichedRecord,
    Evaluation,
    Extraction,
    Learning,
    Product,
    Resolution,
)
from dissensus.knowledge import Placement

__all__ = [
    "REASON_PRIORITY",
    "QueueFilters",
    "QueueStats",
    "ReviewContext",
    "ReviewDetail",
    "ReviewItem",
    "ReviewReason",
    "ReviewState",
    "ReviewTicket",
    "SignalNote",
    "Submission",
    "SubmitResult",
    "SupervisorView",
]

ReviewReason = Literal["needs_human", "signal", "low_confidence", "unverified", "audit"]
"""Why a record is in the queue: the supervisor handed it over (or could not answer), a seller's
or customer's signal that the supervisor upheld contradicts a published value, its resolution
was below the confidence threshold, it taught learnings the gate could not verify (a person's
answer settles the product and, with a teacher, the learnings), or it was sampled to audit a
consensus result."""

ReviewState = Literal["open", "claimed", "done"]
"""``open`` items can be claimed (a claim past its timeout counts as open again)."""


class QueueFilters(TypedDict, total=False):
    """The review queue's filters, one set for listing and counting, for every front.

    ``state`` is the effective state (``open`` includes claims past their expiry);
    ``category`` matches the category and everything under it; ``query`` matches the product id
    or any text of the item (title, description, values), case-insensitively.
    """

    state: ReviewState | None
    run_id: str | None
    reason: ReviewReason | None
    category: str | None
    query: str | None


REASON_PRIORITY: dict[ReviewReason, int] = {
    "needs_human": 0,
    "signal": 1,
    "low_confidence": 1,
    "unverified": 2,
    "audit": 3,
}
"""Claim order: records without a usable value first, then published values a seller or
customer contests, audits last."""


class SupervisorView(BaseModel):
    """What the supervisor said about the product, when it was called."""

    model: str
    resolution: Resolution | None = None
    """Its values, confidence, why the workers failed and the learnings it drafted; ``None``
    when it abstained."""
    error: str | None = None
    """Why it abstained, when it did."""


class SignalNote(BaseModel):
    """A signal beside the product on the desk (its text is the seller's or customer's, quoted)."""

    kind: str
    author: str | None = None
    attribute: str
    text: str = ""
    claimed_value: str | None = None
    """The value the signal says is right."""
    published_value: str | None = None
    resolved_value: str | None = None
    """What the supervisor concluded from it."""


class ReviewContext(BaseModel):
    """Everything a reviewer needs to judge one record, captured when it was enqueued."""

    product: Product
    attributes: list[AttributeSpec]
    """The schema's attributes for the product's category (closed sets included)."""
    disputes: list[AttributeDispute] = Field(default_factory=list)
    """The attributes the workers did not settle, with their candidates and the verdicts."""
    extractions: list[Extraction] = Field(default_factory=list)
    """Every generator's answer."""
    evaluation: Evaluation | None = None
    """The evaluator's verdicts, when there is an evaluator."""
    supervisor: SupervisorView | None = None
    learnings: list[Learning] = Field(default_factory=list)
    """The learnings that were in the workers' prompts, as they read then."""
    record: EnrichedRecord
    """The output record as the run produced it."""
    audit_rate: float | None = None
    """For audit items: the sampling rate of the category when it was sampled."""
    signals: list[SignalNote] = Field(default_factory=list)
    """Sellers' and customers' signals about the record that the supervisor upheld."""


class ReviewTicket(BaseModel):
    """A record the pipeline sends to review; the queue adds where it is stored (run, seq)."""

    reason: ReviewReason
    attributes: list[str]
    """The attributes to review: those waiting for a person, or the audited consensus ones."""
    context: ReviewContext


class Submission(BaseModel):
    """A reviewer's answer to an item."""

    reviewer: str
    at: datetime
    values: dict[str, str | None]
    """Final value of every reviewed attribute (``None``: absent from the product)."""
    changed: list[str] = Field(default_factory=list)
    """Attributes whose final value differs from what the run produced."""
    learning: str | None = None
    learning_id: str | None = None
    """The learning the reviewer's text became (or was merged into), once placed."""


class ReviewItem(BaseModel):
    """One queue entry as listed: which output record, why, and who holds it."""

    id: int
    run_id: str
    seq: int
    """The record's position in the run's input and output (with ``run_id``: the record)."""
    product_id: str
    title: str = ""
    """The product's title as the reviewer saw it (for lists; cut at 300 characters)."""
    category: str | None
    reason: ReviewReason
    attributes: list[str]
    state: ReviewState
    """The effective state: a claim past its expiry reads as ``open``."""
    claimed_by: str | None = None
    """Who holds the claim (for an ``open`` item: who last held it, if anyone)."""
    claimed_at: datetime | None = None
    claim_expires_at: datetime | None = None
    claims: int = 0
    """How many times the item was handed out."""
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    submission: Submission | None = None


class ReviewDetail(ReviewItem):
    """An item with everything needed to review it and the output record as stored now."""

    context: ReviewContext
    current: EnrichedRecord
    """The stored output record (differs from ``context.record`` once submitted)."""


class SubmitResult(BaseModel):
    """What a submission changed."""

    item: ReviewItem
    record: EnrichedRecord
    """The output record as stored after the submission."""
    placement: Placement | None = None
    """Where the submitted learning went, when there was one."""
    retired: list[str] = Field(default_factory=list)
    """Value learnings this answer retired (or flagged, when a person approved them): a person
    corrected the value they gave on too many reviewed products (see
    :mod:`dissensus.knowledge.outcomes`)."""
    taught: list[Placement] = Field(default_factory=list)
    """The value and example learnings the reviewed values became (see
    :mod:`dissensus.review.teaching`), when the queue was given a teacher."""


class QueueStats(BaseModel):
    """Queue depth for dashboards: items by effective state, and pending items by reason."""

    open: int = 0
    claimed: int = 0
    done: int = 0
    expired: int = 0
    """Of ``open``: items whose claim timed out without a submission."""
    pending_by_reason: dict[ReviewReason, int] = Field(default_factory=dict)
    """Open and claimed items by reason."""
