"""Learnings: concrete, reusable lessons the supervisor draws from a disagreement."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Learning", "LearningDraft", "LearningStatus"]

LearningStatus = Literal["proposed", "active", "deprecated", "rejected"]
"""Only ``active`` learnings are put into prompts."""


class LearningDraft(BaseModel):
    """A learning as the supervisor writes it, before the memory manager places it."""

    category: str = Field(
        description="Category path the lesson applies to, e.g. 'Shoes > Sneakers'."
    )
    attributes: list[str] = Field(
        default_factory=list, description="Attribute names the lesson is about (empty: all)."
    )
    text: str = Field(
        min_length=1,
        max_length=400,
        description="The rule, concrete and actionable: what to extract and how; not a vague tip.",
    )
    example: str = Field(
        default="",
        max_length=300,
        description="A solved example: the product text and the correct value(s).",
    )


class Learning(BaseModel):
    """A placed learning in the knowledge tree."""

    id: str
    node: str
    """Materialized key of its node (``/shoes/sneakers``; ``/`` is the root)."""
    attributes: list[str] = Field(default_factory=list)
    text: str
    example: str = ""
    status: LearningStatus = "active"
    approved: bool = False
    """A person approved it: a ``proposed`` learning awaiting ``kb promote``, or an active one
    a person published (machine-activated learnings stay ``False``)."""
    version: int = 1
    sources: list[str] = Field(default_factory=list)
    """Provenance: ids of the cases (``run:product``) that produced or confirmed it."""
    uses: int = 0
    """How many prompts it has been put into."""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def render(self) -> str:
        """How the learning reads inside a worker prompt."""
        scope = f" [{', '.join(self.attributes)}]" if self.attributes else ""
        example = f" Example: {self.example}" if self.example else ""
        return f"- ({self.id}){scope} {self.text}{example}"
