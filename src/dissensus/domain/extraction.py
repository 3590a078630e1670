"""What workers produce: generator extractions and evaluator verdicts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from dissensus.domain.usage import Usage

__all__ = ["Evaluation", "Extraction", "Verdict", "VerdictKind"]

VerdictKind = Literal["ok", "wrong", "missing", "ambiguous"]


class Extraction(BaseModel):
    """One generator's answer for one product."""

    model: str
    """Model string that produced it (``local:gemma3-270m``)."""
    role: str = "generator"
    """Which worker: e.g. ``generator-a``; two generators may share a model with other prompts."""
    values: dict[str, str | None] = Field(default_factory=dict)
    """Attribute name to value; ``None`` means "absent from the text"."""
    abstained: bool = False
    """True when the output stayed invalid after the repair attempt (counts as disagreement)."""
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    learnings: list[str] = Field(default_factory=list)
    """Ids of the learnings that were in this prompt."""
    scope: list[str] | None = None
    """The attributes this worker votes on; ``None``: all. The lexicon worker has no opinion
    on closed attributes, so it leaves them to the generators instead of abstaining."""


class Verdict(BaseModel):
    """The evaluator's judgement of one attribute of one extraction."""

    attribute: str
    verdict: VerdictKind
    reason: str = ""
    suggestion: str | None = None
    """The value the evaluator believes is right, when it says ``wrong`` or ``missing``."""


class Evaluation(BaseModel):
    """The critical evaluator's verdicts on a product's proposed values."""

    model: str
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    abstained: bool = False
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    learnings: list[str] = Field(default_factory=list)
