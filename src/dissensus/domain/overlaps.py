"""One product's values do not share words: a resolved value that swallows another is cut back.

A careful reader splits a title into values that do not overlap: in "Dunham Men's Battery Park
Slip On" the model name is "Battery Park" and the shoe type "Slip On", not "Battery Park Slip
On" and "Slip On". The embedded supervisor often answers the longer span for one attribute and
the shorter one for another. In OA-Mine's train labels, one value inside another attribute's
value of the same product is rare (21 of 16,242 pairs), so the shared words belong to the
shorter value and the longer one is cut back to the rest. On a train slice (100 records, see
``docs/benchmark.md``) that changed 64 of the supervisor's values and raised the system's
published micro-F1 from 59.74 to 63.57.

Only a value's *edge* is cut, and only when the whole other value is there: a value that
merely contains another in its middle ("Vitamin C with Rose Hips" and "Rose") is left alone,
and so is a cut that would leave nothing, only punctuation, or a rest that begins or ends with
a joining word ("Pack of 2" with a count of "2" stays, since "Pack of" is no value).
"""

from __future__ import annotations

from collections.abc import Mapping

# The lexicon's tokens, so that a cut falls where a lexicon match would end.
from dissensus.domain.lexicon import token_matches, value_tokens

__all__ = ["separate"]

_EDGE = " ,;:-/&|"
"""Left at a cut: "Battery Park, Slip On" minus "Slip On" is "Battery Park"."""
_JOINING = frozenset({"a", "and", "by", "for", "in", "of", "or", "the", "to", "with", "&"})
"""Words that join a value to the next one: a rest starting or ending with one is not a value."""


def separate(
    resolved: Mapping[str, str | None], settled: Mapping[str, str | None]
) -> dict[str, str | None]:
    """``resolved`` with each value cut back where it begins or ends with another's whole value.

    Args:
        resolved: The values to check (the supervisor's), by attribute.
        settled: The product's other values (consensus), which are only compared against.

    Returns:
        A new mapping with the same keys; values not affected are returned unchanged.
    """
    # Longest first, as the lexicon matches: "Newman's Own Organics Green Tea" loses the brand
    # "Newman's Own Organics" before "Green Tea" could take the flavour away. The order of the
    # mappings never matters.
    others = sorted(
        (
            (value_tokens(value), name)
            for name, value in {**settled, **resolved}.items()
            if value and value.strip()
        ),
        key=lambda item: (-len(item[0]), item[1]),
    )
    out = dict(resolved)
    for name, value in resolved.items():
        if not value:
            continue
        cut, before = value, None
        # Until nothing changes: "Dunham Men's Battery Park Slip On" reaches "Men's" only once
        # "Dunham" is gone. Every round that continues has removed a word, so this ends.
        while cut != before:
            before = cut
            for part, other in others:
                if other != name:
                    cut = _cut(cut, part)
        out[name] = cut
    return out


def _cut(value: str, part: tuple[str, ...]) -> str:
    """``value`` without ``part`` at its start or end, or unchanged when that leaves no value."""
    spans = token_matches(value)
    tokens = tuple(m.group(0).casefold() for m in spans)
    if not part or len(part) >= len(tokens):
        return value
    if tokens[-len(part) :] == part:
        rest = value[: spans[len(tokens) - len(part) - 1].end()]
    elif tokens[: len(part)] == part:
        rest = value[spans[len(part)].start() :]
    else:
        return value
    rest = rest.strip(_EDGE)
    words = value_tokens(rest)
    if not any(w[0].isalnum() for w in words) or words[0] in _JOINING or words[-1] in _JOINING:
        return value
    return rest
