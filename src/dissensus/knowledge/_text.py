"""Lexical helpers: normalization, tokens, similarity and a small BM25 for knowledge search.

Kept in Python on purpose so search behaves identically on SQLite and PostgreSQL; a knowledge
base holds thousands of learnings, not millions, so scoring them in memory is cheap. SQLite
FTS5 / Postgres full-text can replace :func:`bm25_rank` later without changing callers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["bm25_rank", "normalize_text", "similarity", "tokens"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_SPACE = re.compile(r"\s+")

# Function words carry no meaning for "is this the same lesson?"; units and numbers do, so
# they are not here.
_STOPWORDS = frozenset(
    """a an and are as at be but by for from has have if in into is it its of on or that the
    their then there these this to was were when which while with without not no do does""".split()
)


def normalize_text(text: str) -> str:
    """Canonical form for exact-duplicate checks: case-folded, one space, no edge punctuation."""
    return _SPACE.sub(" ", text.casefold()).strip().strip(".!;:,").strip()


def tokens(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, in order (duplicates kept for term frequency)."""
    return [t for t in _WORD.findall(text.casefold()) if t not in _STOPWORDS]


def similarity(a: str, b: str) -> float:
    """How much two texts say the same thing lexically, 0 to 1.

    The overlap coefficient (shared words over the smaller vocabulary) rather than Jaccard, so
    a short rule contained in a longer restatement of it still counts as similar.
    """
    ta, tb = set(tokens(a)), set(tokens(b))
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def bm25_rank(
    query: str, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75
) -> list[tuple[int, float]]:
    """Rank ``documents`` against ``query`` with Okapi BM25.

    Returns:
        ``(index, score)`` pairs for the documents sharing at least one query word, best first;
        ties keep the documents' order.
    """
    query_terms = set(tokens(query))
    if not query_terms or not documents:
        return []
    docs = [Counter(tokens(d)) for d in documents]
    lengths = [sum(d.values()) for d in docs]
    avg_length = (sum(lengths) / len(docs)) or 1.0
    n = len(docs)
    idf = {}
    for term in query_terms:
        df = sum(1 for d in docs if term in d)
        # The +1 inside the log keeps idf positive for words found in most documents.
        idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    scored: list[tuple[int, float]] = []
    for i, (doc, length) in enumerate(zip(docs, lengths, strict=True)):
        score = 0.0
        for term in query_terms:
            tf = doc.get(term, 0)
            if tf:
                score += idf[term] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))
        if score > 0:
            scored.append((i, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored
