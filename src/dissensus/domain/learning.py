"""Learnings: concrete, reusable lessons the supervisor draws from a disagreement."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

__all__ = ["Learning", "LearningDraft", "LearningKind", "LearningStatus"]

LearningStatus = Literal["proposed", "active", "deprecated", "rejected"]
"""Only ``active`` learnings are put into prompts."""

LearningKind = Literal["rule", "value", "example"]
"""What a learning is, which decides who can use it and how it is checked.

``value``: a known value of one attribute in a category (``values`` holds it); the lexicon
worker matches it in later products' text. ``example``: a solved product (``text`` is its
title, ``values`` its checked values); retrieved per product as a demonstration, the form of
learning small models use. ``rule``: prose for capable models, as people write it.
"""


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
    kind: LearningKind = "rule"
    values: dict[str, str | None] = Field(default_factory=dict)
    """``value``: the one attribute and its value; ``example``: the product's checked values."""
    evidence: str = ""
    """The source product's text, for the gate: a value must occur in it (not shown in prompts)."""
    seconded: SkipJsonSchema[dict[str, list[str]] | None] = None
    """Per attribute, who besides the supervisor gave the same value for the source product:
    the workers' roles, or ``consensus`` for a value the workers settled. Set by code from the
    case, never by a model (hidden from the schema a model answers in, and reset on drafts a
    model wrote). The gate lets a *new* machine value go live only when someone seconds it:
    measured on the OA-Mine stream, 80 % of the live values a worker had also proposed were
    right against 36 % of those only the supervisor gave. ``None``: not a case's draft (a
    person's answer), so nothing needs seconding."""


class Learning(BaseModel):
    """A placed learning in the knowledge tree."""

    id: str
    node: str
    """Materialized key of its node (``/shoes/sneakers``; ``/`` is the root)."""
    attributes: list[str] = Field(default_factory=list)
    text: str
    example: str = ""
    kind: LearningKind = "rule"
    values: dict[str, str | None] = Field(default_factory=dict)
    """``value``: ``{attribute: value}``; ``example``: the solved product's checked values."""
    status: LearningStatus = "active"
    approved: bool = False
    """A person approved it: a ``proposed`` learning awaiting ``kb promote``, or an active one
    a person published (machine-activated learnings stay ``False``)."""
    version: int = 1
    sources: list[str] = Field(default_factory=list)
    """Provenance: ids of the cases (``run:product``) that produced or confirmed it."""
    uses: int = 0
    """How many products it reached: a rule, the prompts it was put into; a value or an example,
    the products whose published values cite it."""
    helpful: int = 0
    """Reviewed products where a person kept the value it gave (value learnings)."""
    harmful: int = 0
    """Reviewed products where a person corrected the value it gave (value learnings)."""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def render(self) -> str:
        """How the learning reads inside a worker prompt."""
        if self.kind == "value":
            shown = "; ".join(f"{k}: {v!r}" for k, v in self.values.items())
            return f"- ({self.id}) known value {shown}"
        if self.kind == "example":
            shown = "; ".join(
                f"{k}: {v if v is not None else 'n/a'}" for k, v in self.values.items()
            )
            return f'- ({self.id}) "{self.text}" -> {shown}'
        scope = f" [{', '.join(self.attributes)}]" if self.attributes else ""
        example = f" Example: {self.example}" if self.example else ""
        return f"- ({self.id}){scope} {self.text}{example}"
