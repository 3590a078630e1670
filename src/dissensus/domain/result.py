"""The output contract: one enriched record per input product, in input order."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["AttributeResult", "EnrichedRecord", "Status"]

Status = Literal["consensus", "routed", "supervisor", "human", "needs_review", "failed"]
"""How a value was settled: workers agreed; one worker's lone value was settled as the
supervisor's track record on such values says (``consensus.routes``); the supervisor resolved
it; a human set it; it waits for a human; or nothing usable came back."""


class AttributeResult(BaseModel):
    """The published value of one attribute, with its provenance."""

    value: str | None
    """``None`` when the attribute is absent from the product text."""
    status: Status
    confidence: float = Field(ge=0.0, le=1.0)
    learnings: list[str] = Field(default_factory=list)
    """Ids of knowledge-base learnings that were in the prompt that produced this value."""


class EnrichedRecord(BaseModel):
    """One output line."""

    id: str
    category: str | None
    attributes: dict[str, AttributeResult] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)
    """Models that voted (generators, evaluator, and the supervisor when it was called)."""
    error: str | None = None
    """A message when the record could not be processed (bad input, no schema entry)."""
    notes: list[str] = Field(default_factory=list)
    """What the run did to the input before the models saw it (a text cut to its cap); the
    output line carries it only when there is one."""
