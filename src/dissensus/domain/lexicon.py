"""The lexicon: known values per attribute of one category, and how they are found in text.

Known values are the cheapest learning there is: a 270M model misses "Finn Comfort" as a
brand; a dictionary that has seen it once never does. Matching is on word tokens,
case-insensitively, and the value returned is the text's own spelling, so a match is always a
span a reviewer can find in the listing. Several attributes may know overlapping values ("Cast
Iron" as a material, "Cast" as nothing): the longest matches win and no two chosen values share
a word, which is how a careful reader splits a title too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Lexicon", "LexiconMatch", "token_matches", "value_shapes", "value_tokens"]

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+|[^\w\s]")
"""A decimal or grouped number ("33.8", "1,000") is one token: split at its point, "8 Fl Oz"
would be found in "33.8 Fl Oz" and "Size 8" in "Size 8.5"."""
MAX_VALUE_TOKENS = 12
"""Longer "values" are sentences, not attribute values; they are not kept."""


def token_matches(text: str) -> list[re.Match[str]]:
    """The word and punctuation tokens of ``text`` with their offsets, as the text writes them.

    For code that must cut a text where a match ends (``domain.overlaps``) and keep the
    text's own spelling.
    """
    return list(_TOKEN.finditer(text))


def value_tokens(text: str) -> tuple[str, ...]:
    """The case-folded word and punctuation tokens of ``text``: the unit of matching."""
    return tuple(m.group(0).casefold() for m in _TOKEN.finditer(text))


def value_shapes(text: str) -> tuple[str, ...]:
    """``text``'s tokens with every token that holds a digit written as ``#``.

    The words of an attribute's values say what the attribute is ("loads", "oz", "pack");
    its numbers differ from product to product, so "140 loads" should look like "66 loads".
    """
    return tuple(_shape(t) for t in value_tokens(text))


def _shape(token: str) -> str:
    return "#" if any(c.isdigit() for c in token) else token


@dataclass(frozen=True, slots=True)
class LexiconMatch:
    """One known value found in a text."""

    attribute: str
    value: str
    """As the text writes it."""
    start: int
    """Token offsets ``[start, end)`` in the text."""
    end: int
    count: int
    """How often the value was confirmed for the attribute (verified products, learnings)."""


class Lexicon:
    """Known values of the attributes of one category, with how often each was confirmed."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[tuple[str, ...], int]] = defaultdict(dict)
        self._by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)

    def __len__(self) -> int:
        return sum(len(v) for v in self._counts.values())

    def add(self, attribute: str, value: str | None, count: int = 1) -> None:
        """Record ``value`` as a known value of ``attribute`` (``None``/blank is ignored)."""
        if value is None:
            return
        tokens = value_tokens(value)
        if not tokens or len(tokens) > MAX_VALUE_TOKENS or tokens == ("n", "/", "a"):
            return
        known = self._counts[attribute]
        if tokens not in known:
            self._by_first[tokens[0]].append((attribute, tokens))
        known[tokens] = known.get(tokens, 0) + count

    def update(self, values: Mapping[str, str | None], count: int = 1) -> None:
        """Record every value of one solved product."""
        for attribute, value in values.items():
            self.add(attribute, value, count)

    def knows(self, attribute: str) -> bool:
        """Whether any value of ``attribute`` is known."""
        return bool(self._counts.get(attribute))

    def count(self, attribute: str, value: str) -> int:
        """How often ``value`` was confirmed for ``attribute`` (0: unknown)."""
        return self._counts.get(attribute, {}).get(value_tokens(value), 0)

    def entries(self) -> dict[str, dict[str, int]]:
        """Every known value (as tokens joined by spaces) with its count, per attribute."""
        return {a: {" ".join(v): c for v, c in known.items()} for a, known in self._counts.items()}

    def vocabulary(self, attributes: Iterable[str]) -> dict[str, list[str]]:
        """The :func:`value_shapes` of the known values of each of ``attributes``, sorted.

        An attribute with no known value is left out. Several of a product's attributes given
        one value can be told apart by whose words it uses (``domain.overlaps``).
        """
        out: dict[str, list[str]] = {}
        for attribute in attributes:
            known = self._counts.get(attribute)
            if known:
                out[attribute] = sorted({_shape(t) for value in known for t in value})
        return out

    def attributes_knowing(self, value: str) -> list[str]:
        """The attributes that have ``value`` among their known values."""
        tokens = value_tokens(value)
        return sorted(a for a, known in self._counts.items() if tokens in known)

    def find_all(self, text: str, attributes: Iterable[str] | None = None) -> list[LexiconMatch]:
        """Every occurrence of every known value in ``text`` (overlaps included)."""
        wanted = None if attributes is None else set(attributes)
        spans = [(m.start(), m.end(), m.group(0).casefold()) for m in token_matches(text)]
        tokens = [s[2] for s in spans]
        found: list[LexiconMatch] = []
        for i, token in enumerate(tokens):
            for attribute, value in self._by_first.get(token, ()):
                if wanted is not None and attribute not in wanted:
                    continue
                end = i + len(value)
                if tuple(tokens[i:end]) == value:
                    surface = text[spans[i][0] : spans[end - 1][1]]
                    count = self._counts[attribute][value]
                    found.append(LexiconMatch(attribute, surface, i, end, count))
        return found

    def match(self, text: str, attributes: Sequence[str]) -> dict[str, str]:
        """The best known value per attribute in ``text``: longest first, no shared words.

        Ties go to the value confirmed more often, then to the earlier position. Attributes with
        no known value in the text are left out (the lexicon has no opinion about them).
        """
        candidates = self.find_all(text, attributes)
        candidates.sort(key=lambda m: (-(m.end - m.start), -m.count, m.start, m.attribute))
        taken: set[int] = set()
        chosen: dict[str, str] = {}
        for m in candidates:
            if m.attribute in chosen or taken.intersection(range(m.start, m.end)):
                continue
            chosen[m.attribute] = m.value
            taken.update(range(m.start, m.end))
        return {a: chosen[a] for a in attributes if a in chosen}
