"""Candidate values copied from the product text: the word n-grams a worker may answer with.

Constraining every open attribute to spans of the title and description (plus ``"n/a"``) is the
single change that moved the tiny embedded models most after solved examples: Gemma 3 270M goes
from ≈23 to ≈31 micro-F1 on OA-Mine because it can no longer invent values. The builder is
deterministic so that the same product always yields the same JSON schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["NA", "closed_options", "text_spans"]

NA = "n/a"
"""The escape every enum carries: the attribute is not stated in the text."""

# Spans never cross these: a comma or a bracket almost always ends a value in a listing
# ("Fila Men's Hometown Extra-M, Black/White/Vintage Red, 10 M US"), and not crossing them keeps
# the option count small enough for the grammar and the cap.
_SEGMENT_BREAK = re.compile(r"[,;|\n\r\t()\[\]{}<>]+|\s[-–—:]\s|:\s")
_TOKEN = re.compile(r"\S+")
# Always trimmed from both ends of a span. ASCII quotes and "." get special care below because
# they are part of values (15.6" screens, "G.H. Bass & Co.").
_STRIP = " \t\r\n,;:!?()[]{}<>*|“”‘’«»„‚`~-–—/\\"
_QUOTES = "\"'"


def _trim(span: str) -> str:
    """Strip surrounding punctuation and quotes, keep inch marks and possessives."""
    previous = None
    while span != previous:
        previous = span
        span = span.strip(_STRIP)
        if len(span) >= 2 and span[0] == span[-1] and span[0] in _QUOTES:
            span = span[1:-1]
        elif span[:1] in _QUOTES and span:
            span = span[1:]
        # A trailing '"' after a digit is an inch mark and a trailing "'" a possessive (Mens'):
        # only a trailing '"' after anything else is a closing quote.
        if span.endswith('"') and not span[-2:-1].isdigit():
            span = span[:-1]
    return span


def _forms(span: str) -> list[str]:
    """The option forms of one raw span: trimmed, and without a final period when it has one.

    Both forms are kept for "Co." / "Inc." style abbreviations: which one a gold label uses
    varies, and the stripped one comes first so that the cap prefers it.
    """
    trimmed = _trim(span)
    # A span without a letter or digit ("...", "&") is never an attribute value.
    if not any(c.isalnum() for c in trimmed):
        return []
    if trimmed.endswith("."):
        bare = _trim(trimmed.rstrip("."))
        return [bare, trimmed] if bare else [trimmed]
    return [trimmed]


def _grams(text: str, max_words: int) -> list[tuple[int, int, str]]:
    """Every span of 1..max_words whitespace tokens inside one segment, as (n, position, raw)."""
    found: list[tuple[int, int, str]] = []
    position = 0
    for segment in _SEGMENT_BREAK.split(text):
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(segment)]
        for i in range(len(tokens)):
            for n in range(1, max_words + 1):
                if i + n > len(tokens):
                    break
                raw = " ".join(segment[tokens[i][0] : tokens[i + n - 1][1]].split())
                found.append((n, position + i, raw))
            # Hyphenated tokens often glue values together ("Shoe-49-Black/Moonlight"); their
            # parts are offered as one-word spans right after the whole-token ones.
            token = segment[tokens[i][0] : tokens[i][1]]
            if "-" in token.strip("-"):
                for part in token.split("-"):
                    found.append((1, position + i, part))
        position += len(tokens)
    # Hyphen parts sort after whole 1-grams of the same position: stable sort keeps that order.
    return sorted(found, key=lambda g: (g[0], g[1]))


def text_spans(
    texts: Iterable[str | None],
    *,
    max_words: int = 6,
    limit: int = 400,
    max_chars: int = 80,
) -> list[str]:
    """Build the enum of values a worker may give for an open attribute.

    Args:
        texts: Source texts in priority order (title first, then description); ``None`` is skipped.
        max_words: Longest span, in whitespace-separated words.
        limit: Maximum number of options, ``"n/a"`` included.
        max_chars: Spans longer than this are dropped (URLs, run-on tokens).

    Returns:
        Distinct spans, each copied from one text with its casing and inner punctuation
        (runs of whitespace become one space, surrounding punctuation is stripped), shorter spans
        first within each text, then ``"n/a"`` last. Spans never cross a comma, semicolon,
        bracket, line break or a spaced dash.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 to hold {NA!r}, got {limit}")
    options: list[str] = []
    seen = {NA}
    for text in texts:
        if not text:
            continue
        for _, _, raw in _grams(text, max_words):
            for form in _forms(raw):
                if len(options) == limit - 1:
                    return [*options, NA]
                if form in seen or form.casefold() == NA or len(form) > max_chars:
                    continue
                seen.add(form)
                options.append(form)
    return [*options, NA]


def closed_options(values: Sequence[str]) -> list[str]:
    """The enum of an attribute with a closed value set: its distinct values, then ``"n/a"``."""
    options = list(dict.fromkeys(v for v in values if v != NA))
    return [*options, NA]
