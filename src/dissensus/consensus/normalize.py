"""Value normalization: when do two workers' values count as the same value?

Only for comparison: published values keep the casing and punctuation a worker copied from the
text. The rules, in order:

1. Unicode NFKC (full-width letters, ligatures and non-breaking spaces become plain ones), then
   ``casefold`` (``"Men's"`` = ``"MEN'S"``, ``"ß"`` = ``"ss"``).
2. Curly quotes become straight ones, so a hosted model's typography does not split a vote.
3. A standalone ``&`` becomes ``and`` (``"Black & White"`` = ``"Black and White"``). Only the
   standalone sign: ``"AT&T"`` and ``"H&M"`` are names and stay as they are.
4. Whitespace runs collapse to one space; surrounding whitespace, punctuation and quotes are
   stripped (``"Burgundy,"`` = ``"Burgundy"``, ``"(Pack of 2)"`` = ``"pack of 2"``). Inner
   punctuation stays: ``"Black/White"`` ≠ ``"Black White"``. ``%`` survives the strip because
   ``"50%"`` and ``"50"`` are different values.
5. Placeholders for "no value" (``n/a``, ``na``, ``none``, ``null``, ``unknown``, ``-``, the empty
   string, ...) become ``None``, the same as an absent value.

The function is idempotent: normalizing a normalized value changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["NONE_WORDS", "normalize", "same_value"]

NONE_WORDS = frozenset(
    {"", "n/a", "na", "n.a", "none", "null", "nil", "unknown", "not applicable", "-"}
)
"""Normalized spellings that mean "no value" (compared after stripping, so ``"N/A."`` counts)."""

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"'})
_WHITESPACE = re.compile(r"\s+")
_AMPERSAND = re.compile(r"(?:(?<=\s)|^)&(?=\s|$)")
_KEEP = frozenset("%")


def _is_edge(char: str) -> bool:
    if char in _KEEP:
        return False
    return char.isspace() or unicodedata.category(char).startswith("P")


def _strip_edges(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _AMPERSAND.sub("and", text)
    return _strip_edges(_WHITESPACE.sub(" ", text))


def normalize(value: str | None) -> str | None:
    """The comparison key of a value: folded, trimmed, and ``None`` for "no value".

    See the module docstring for the rules and why each is there.
    """
    if value is None:
        return None
    text = value
    # Casefolding can produce characters that NFKC rewrites again (and vice versa); a few
    # rounds reach the fixed point, which is what makes normalize idempotent.
    for _ in range(4):
        folded = _once(text)
        if folded == text:
            break
        text = folded
    return None if text in NONE_WORDS else text


def same_value(a: str | None, b: str | None) -> bool:
    """Whether two values count as equal for consensus (``None`` equals a placeholder)."""
    return normalize(a) == normalize(b)
