"""Cases the supervisor resolves, and its resolutions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dissensus.domain.example import SolvedExample
from dissensus.domain.extraction import Evaluation, Extraction
from dissensus.domain.learning import LearningDraft
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec

__all__ = ["AttributeDispute", "Case", "Resolution"]


class AttributeDispute(BaseModel):
    """Why one attribute went up: the candidate values and what the evaluator said."""

    attribute: str
    reason: str
    """``disagreement``, ``rejected`` or ``abstained``."""
    candidates: dict[str, str | None] = Field(default_factory=dict)
    """Worker role to the value it proposed."""
    evaluator: str | None = None
    """The evaluator's verdict and reason, when it had one."""


class Case(BaseModel):
    """A product whose workers did not settle every attribute."""

    id: str
    """``run_id:product_id``; learnings cite it as provenance."""
    product: Product
    attributes: list[AttributeSpec]
    disputes: list[AttributeDispute]
    extractions: list[Extraction]
    evaluation: Evaluation | None = None
    learnings_in_prompt: list[str] = Field(default_factory=list)
    examples: list[SolvedExample] = Field(default_factory=list)
    """The solved products retrieved for this product (verified and learned), most similar first."""
    settled: dict[str, str | None] = Field(default_factory=dict)
    """The values consensus settled (``None``: agreed absent); the rest are disputed."""
    known_values: dict[str, str] = Field(default_factory=dict)
    """What the lexicon found in the text, per attribute (known values of the category)."""
    vocabulary: dict[str, list[str]] = Field(default_factory=dict)
    """The words of the known values of each disputed attribute (``Lexicon.vocabulary``).

    When the supervisor gives one value to several attributes, it stays with the one whose
    words it uses (``domain.overlaps``)."""


class Resolution(BaseModel):
    """The supervisor's answer for a case.

    Strict on purpose: an answer that is valid JSON but not this shape (``{"unexpected": true}``)
    must fail validation, get its one repair, and then be an abstention, not a resolution that
    settles nothing.
    """

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str | None] = Field(
        description="Final value for each disputed attribute; null when absent from the text.",
    )
    confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="How sure the resolution is, 0 to 1."
    )
    why_workers_failed: str = Field(
        default="", max_length=600, description="What the workers lacked or misread."
    )
    learnings: list[LearningDraft] = Field(
        default_factory=list, description="Reusable lessons for later products (may be empty)."
    )
    needs_human: bool = Field(
        default=False, description="True when the evidence cannot settle the case."
    )
