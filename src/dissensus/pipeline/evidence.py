"""What the workers get per product besides its text: similar solved products and the lexicon.

Both come from two sources, read in the same way from the start of every run: the verified
catalog (people checked it) and, when the run uses knowledge, the active ``example`` and
``value`` learnings of the product's category. The verified part is what the no-learning
baseline also has; the learned part is what learning adds. Built once per category batch (the
lexicon, the pool of examples and its word weights) and then ranked per product.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from dissensus.domain import CategoryPath, Lexicon, Product, SolvedExample
from dissensus.knowledge import KnowledgeBase
from dissensus.supervisor import VerifiedCatalog
from dissensus.supervisor.verified_catalog import tokenize
from dissensus.workers import ProductEvidence

__all__ = ["CategoryEvidence", "EvidenceSource"]


@dataclass
class CategoryEvidence:
    """The evidence of one category, ready to rank per product."""

    path: CategoryPath
    pool: list[SolvedExample]
    lexicon: Lexicon | None
    lexicon_learnings: list[str]
    catalog: VerifiedCatalog | None
    limit: int
    filled: dict[str, int] = field(default_factory=dict)
    """Per attribute, how many of the category's verified products give it a value."""
    verified: int = 0
    """How many verified products the category has (its own and its subcategories')."""
    _tokens: list[Counter[str]] = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tokens = [Counter(tokenize(ex.title)) for ex in self.pool]
        df: Counter[str] = Counter()
        for tokens in self._tokens:
            df.update(tokens.keys())
        n = max(len(self.pool), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def examples(self, product: Product) -> list[SolvedExample]:
        """The ``limit`` solved products most like ``product`` (rare shared words weigh most)."""
        if self.limit <= 0:
            return []
        if not self.pool:
            if self.catalog is None:
                return []
            # No solved product of this category: borrow the closest ones of its neighbours.
            return [
                SolvedExample(title=p.title, values=p.attributes, source=f"verified:{p.id}")
                for p in self.catalog.similar(product.text, category=self.path, limit=self.limit)
            ]
        query = set(tokenize(product.title))
        scored = [
            (sum(self._idf.get(t, 0.0) for t in query if t in tokens), i)
            for i, tokens in enumerate(self._tokens)
        ]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [self.pool[i] for score, i in scored[: self.limit] if score > 0] or [
            self.pool[i] for _, i in scored[: self.limit]
        ]

    def rare(self, names: Iterable[str], *, floor: float, min_products: int) -> list[str]:
        """The attributes of ``names`` that fewer than ``floor`` of the verified products fill.

        Only from ``min_products`` verified products on: three products say nothing about how
        often a category states its country. A floor of 0 finds none. The share is the verified
        catalog's alone, the same for every run, learning or not.
        """
        if floor <= 0 or self.verified < max(min_products, 1):
            return []
        return [n for n in names if self.filled.get(n, 0) / self.verified < floor]

    def for_product(self, product: Product) -> ProductEvidence:
        return ProductEvidence(
            examples=self.examples(product),
            lexicon=self.lexicon,
            lexicon_learnings=self.lexicon_learnings,
        )


class EvidenceSource:
    """Builds each category's evidence from the verified catalog and the knowledge base.

    Args:
        catalog: The verified catalog, if the run has one.
        kb: The knowledge base; ``None`` when the run uses no knowledge.
        examples: Solved examples per product (0: none).
        lexicon: Whether the lexicon worker runs (it needs known values to say anything).
    """

    def __init__(
        self,
        *,
        catalog: VerifiedCatalog | None,
        kb: KnowledgeBase | None,
        examples: int = 3,
        lexicon: bool = True,
    ) -> None:
        self.catalog = catalog
        self.kb = kb
        self.examples = examples
        self.lexicon = lexicon

    def for_category(self, path: CategoryPath) -> CategoryEvidence:
        pool: list[SolvedExample] = []
        lexicon = Lexicon() if self.lexicon else None
        ids: list[str] = []
        filled: Counter[str] = Counter()
        verified = 0
        if self.catalog is not None:
            for p in self.catalog.products:
                if path.covers(p.category):
                    verified += 1
                    filled.update(name for name, value in p.attributes.items() if value)
                    pool.append(
                        SolvedExample(title=p.title, values=p.attributes, source=f"verified:{p.id}")
                    )
                    if lexicon is not None:
                        lexicon.update(p.attributes)
        if self.kb is not None:
            for learning in self.kb.learned(path, "example"):
                pool.append(
                    SolvedExample(title=learning.text, values=learning.values, source=learning.id)
                )
            if lexicon is not None:
                for learning in self.kb.learned(path, "value"):
                    lexicon.update(learning.values, max(1, len(learning.sources)))
                    ids.append(learning.id)
        return CategoryEvidence(
            path=path,
            pool=pool,
            lexicon=lexicon,
            lexicon_learnings=ids,
            catalog=self.catalog,
            limit=self.examples,
            filled=dict(filled),
            verified=verified,
        )
