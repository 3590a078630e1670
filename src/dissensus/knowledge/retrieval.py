"""Choosing which learnings go into a worker prompt: scope filter, ranking, token budget.

Pure functions over :class:`~dissensus.domain.Learning` lists, so the rules are testable without
a database; :meth:`KnowledgeBase.retrieve` feeds them the active learnings on a category path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from dissensus.domain import Learning

__all__ = [
    "CHARS_PER_TOKEN",
    "applies_to",
    "estimate_tokens",
    "normalize_attribute",
    "select_for_prompt",
]

CHARS_PER_TOKEN = 4
"""Rough size of a token in English prompt text; good enough to keep prompts bounded."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def estimate_tokens(text: str) -> int:
    """Approximate tokens of ``text`` (one per four characters, rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def normalize_attribute(name: str) -> str:
    """Attribute names compare case- and separator-insensitively (``Shoe Size`` = ``shoe_size``)."""
    return "_".join(name.casefold().replace("-", " ").replace("_", " ").split())


def applies_to(learning_attributes: Iterable[str], wanted: Iterable[str] | None) -> bool:
    """True when a learning scoped to ``learning_attributes`` is relevant to ``wanted``.

    A learning without attributes applies to every attribute; ``wanted=None`` asks for all.
    """
    if wanted is None:
        return True
    own = {normalize_attribute(a) for a in learning_attributes}
    if not own:
        return True
    return bool(own & {normalize_attribute(a) for a in wanted})


def select_for_prompt(
    learnings: Sequence[Learning],
    node_depth: dict[str, int],
    attributes: Sequence[str] | None,
    *,
    budget_tokens: int,
) -> list[Learning]:
    """Filter, rank and cut learnings for one prompt.

    Args:
        learnings: Candidates (already limited to active learnings on the path).
        node_depth: Depth of each candidate's node on the path (root 0).
        attributes: Attributes the prompt asks about; ``None`` for all.
        budget_tokens: Upper bound on the estimated tokens of the rendered lines.

    Returns:
        The chosen learnings, most specific first: deeper node, then more used, then more
        recently updated. A learning too long for the remaining budget is skipped rather than
        ending the selection, so one verbose lesson cannot crowd out several short ones.
    """
    relevant = [lr for lr in learnings if applies_to(lr.attributes, attributes)]
    relevant.sort(
        key=lambda lr: (
            -node_depth.get(lr.node, 0),
            -lr.uses,
            -(lr.updated_at or _EPOCH).timestamp(),
            lr.id,
        )
    )
    chosen: list[Learning] = []
    used = 0
    for learning in relevant:
        # +1 for the newline that joins the rendered lines in the prompt.
        cost = estimate_tokens(learning.render() + "\n")
        if used + cost <= budget_tokens:
            chosen.append(learning)
            used += cost
    return chosen
