"""The lexicon worker: a worker with no model that proposes the known values found in the text.

It votes in consensus like a generator, and its errors are of another kind than an LLM's (it
never invents, it misses what it has not seen, it can take a known word in the wrong sense), so
agreement between the two is strong evidence and a disagreement is a real signal. When the
supervisor settles such a disagreement the value becomes a ``value`` learning and, once the gate
passes it, the lexicon knows it for the next product: that is how disagreement falls.
"""

from __future__ import annotations

from collections.abc import Sequence

from dissensus.domain.extraction import Extraction
from dissensus.domain.lexicon import Lexicon
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec

__all__ = ["LEXICON_MODEL", "LexiconWorker"]

LEXICON_MODEL = "lexicon"
"""What lexicon extractions name as their model (it has no model and costs no tokens)."""


class LexiconWorker:
    """Proposes, per open attribute, the longest known value that occurs in the product text.

    Args:
        role: Name in extractions and disputes; unique within a team.
    """

    def __init__(self, *, role: str = "lexicon") -> None:
        self.role = role

    def __repr__(self) -> str:
        return f"LexiconWorker(role={self.role!r})"

    def extract(
        self,
        product: Product,
        attributes: Sequence[AttributeSpec],
        lexicon: Lexicon,
        *,
        learnings: Sequence[str] = (),
    ) -> Extraction:
        """The known values in ``product``'s text; ``None`` for attributes with none found.

        Open attributes with no known value at all are outside its scope. Closed attributes
        get a vote only when exactly one allowed value is named in the text
        (whether a knife is dishwasher safe is not a word to look up); elsewhere they are
        outside its scope, so it neither votes nor abstains on them. ``learnings`` are the ids
        of the ``value`` learnings it was built from.
        """
        # An attribute the lexicon knows no value of is outside its scope: its silence there
        # means "never seen one", not "absent", and must not dispute every generator value.
        open_names = [s.name for s in attributes if not s.values and lexicon.knows(s.name)]
        found = lexicon.match(product.text, open_names) if open_names else {}
        values: dict[str, str | None] = {name: found.get(name) for name in open_names}
        for spec in attributes:
            if spec.values and (hit := _closed_value(product.text, spec.name, spec.values)):
                values[spec.name] = hit
        return Extraction(
            model=LEXICON_MODEL,
            role=self.role,
            values=values,
            learnings=list(learnings),
            scope=list(values),
        )


_NOT_WORDS = frozenset({"yes", "no", "true", "false", "n/a", "none", "other"})
"""Allowed values that say nothing when they occur in a text ("no rust" is not a "no")."""


def _closed_value(text: str, name: str, allowed: Sequence[str]) -> str | None:
    """The one allowed value named in the text ("Santoku" for a knife type), else ``None``.

    Only values that are words of their own count, and only when exactly one occurs: two named
    values ("Chef and Santoku set") leave the choice to the generators.
    """
    lexicon = Lexicon()
    for value in allowed:
        if len(value) >= 3 and value.casefold() not in _NOT_WORDS:
            lexicon.add(name, value)
    seen = {m.value.casefold() for m in lexicon.find_all(text, [name])}
    if len(seen) != 1:
        return None
    (hit,) = seen
    return next((v for v in allowed if v.casefold() == hit), None)
