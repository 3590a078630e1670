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

A value is also one attribute's, not several: the embedded supervisor repeats a span down its
answer ("No Yellow" as the brand, benefit, scent, hair type and four more of "No Yellow by
Fanola Mask 350ml"), and gives consensus's value again to a second attribute ("12 oz" as the
net content and the pack size). A resolved value equal to another attribute's settled value is
dropped; one given to several attributes stays only with the attribute whose known values
use its words, when exactly one does most (``Lexicon.vocabulary``: "140 loads" is a load size
where "loads" is among the load sizes' words), and is dropped from all of them otherwise. Chosen
among eight variants on 60 train records (+6.65 strict, +1.41 published micro-F1), it gave
+5.66 [+3.67, +7.85] strict and +1.42 [+0.21, +2.56] published on 60 others
(``docs/benchmark.md``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

# The lexicon's tokens, so that a cut falls where a lexicon match would end.
from dissensus.domain.lexicon import token_matches, value_shapes, value_tokens

__all__ = ["cut_back", "one_owner", "separate"]

_EDGE = " ,;:-/&|"
"""Left at a cut: "Battery Park, Slip On" minus "Slip On" is "Battery Park"."""
_JOINING = frozenset({"a", "and", "by", "for", "in", "of", "or", "the", "to", "with", "&"})
"""Words that join a value to the next one: a rest starting or ending with one is not a value."""


def separate(
    resolved: Mapping[str, str | None],
    settled: Mapping[str, str | None],
    vocabulary: Mapping[str, Collection[str]] | None = None,
) -> dict[str, str | None]:
    """``resolved`` cut back (:func:`cut_back`), then each value given to one attribute at most
    (:func:`one_owner`): what the supervisor's values go through before anything uses them."""
    return one_owner(cut_back(resolved, settled), settled, vocabulary or {})


def one_owner(
    resolved: Mapping[str, str | None],
    settled: Mapping[str, str | None],
    vocabulary: Mapping[str, Collection[str]],
) -> dict[str, str | None]:
    """``resolved`` with no value shared with another attribute, but where its words decide.

    Args:
        resolved: The values to check (the supervisor's), by attribute.
        settled: The product's other values (consensus): a resolved value equal to one of
            them is dropped, since consensus already gave it to its attribute.
        vocabulary: The :func:`~dissensus.domain.lexicon.value_shapes` of each attribute's
            known values. A value several resolved attributes hold stays with the attribute
            whose vocabulary holds the largest share of its words, if that share is above
            zero and no other attribute has it too; it is dropped from the others.

    Returns:
        A new mapping with the same keys; a dropped value is ``None`` (not stated).
    """
    out = dict(resolved)
    holders: dict[tuple[str, ...], list[str]] = {}
    for name, value in resolved.items():
        tokens = value_tokens(value) if value else ()
        if not tokens:
            continue
        if any(other != name and v and value_tokens(v) == tokens for other, v in settled.items()):
            out[name] = None
        else:
            holders.setdefault(tokens, []).append(name)
    for names in holders.values():
        if len(names) < 2:
            continue
        shapes = value_shapes(resolved[names[0]] or "")
        shares = sorted(
            ((_share(shapes, vocabulary.get(name, ())), name) for name in names), reverse=True
        )
        owner = shares[0][1] if shares[0][0] > 0 and shares[0][0] > shares[1][0] else None
        for name in names:
            if name != owner:
                out[name] = None
    return out


def _share(shapes: tuple[str, ...], words: Collection[str]) -> float:
    """The share of ``shapes`` that are among ``words``."""
    known = set(words)
    return sum(s in known for s in shapes) / len(shapes) if shapes else 0.0


def cut_back(
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
