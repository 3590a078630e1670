"""The verified catalog: products whose attribute values a person has checked.

It is the supervisor's strongest evidence on the embedded profile: a 270M model cannot reason
its way to the right value, but it can copy the pattern of a similar, solved product. Lookup is
lexical (token overlap weighted by rarity) because it must work offline with no embedding model.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from dissensus.domain import CategoryPath
from dissensus.errors import InputError

__all__ = ["VerifiedCatalog", "VerifiedProduct", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; shared by every lexical lookup in the supervisor's tools."""
    return _TOKEN.findall(text.lower())


class VerifiedProduct(BaseModel):
    """One product with checked values (``None``: the attribute is absent from its text)."""

    id: str
    title: str
    description: str | None = None
    category: str
    attributes: dict[str, str | None] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.title if not self.description else f"{self.title} {self.description}"


class VerifiedCatalog:
    """An in-memory index of verified products with a similarity lookup."""

    def __init__(self, products: Iterable[VerifiedProduct]) -> None:
        self.products = list(products)
        self._tokens = [Counter(tokenize(p.text)) for p in self.products]
        df: Counter[str] = Counter()
        for tokens in self._tokens:
            df.update(tokens.keys())
        n = max(len(self.products), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}

    def __len__(self) -> int:
        return len(self.products)

    @classmethod
    def load(cls, path: Path) -> VerifiedCatalog:
        """Read JSONL (``{id, title, category, attributes: {...}}``) or CSV.

        CSV columns other than ``id``, ``title``, ``description`` and ``category`` are taken as
        attribute values (an empty cell means the attribute is absent).
        """
        if not path.exists():
            raise InputError(f"verified catalog {str(path)!r} does not exist")
        products: list[VerifiedProduct] = []
        try:
            if path.suffix.lower() == ".csv":
                with path.open(newline="", encoding="utf-8") as fh:
                    for row in csv.DictReader(fh):
                        fixed = {"id", "title", "description", "category"}
                        attrs = {k: (v or None) for k, v in row.items() if k not in fixed}
                        products.append(
                            VerifiedProduct(
                                id=row["id"],
                                title=row["title"],
                                description=row.get("description") or None,
                                category=row["category"],
                                attributes=attrs,
                            )
                        )
            else:
                with path.open(encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        if line.strip():
                            try:
                                products.append(VerifiedProduct.model_validate(json.loads(line)))
                            except (json.JSONDecodeError, ValidationError) as exc:
                                raise InputError(
                                    f"verified catalog {str(path)!r} line {n}: {exc}"
                                ) from exc
        except KeyError as exc:
            raise InputError(f"verified catalog {str(path)!r} lacks column {exc}") from exc
        return cls(products)

    def similar(
        self, text: str, *, category: CategoryPath | None = None, limit: int = 3
    ) -> list[VerifiedProduct]:
        """The verified products most similar to ``text``, same category first.

        Products of the same category get a bonus rather than a filter, so a sparse category
        still borrows evidence from its siblings.
        """
        query = Counter(tokenize(text))
        scored: list[tuple[float, int]] = []
        for i, (product, tokens) in enumerate(zip(self.products, self._tokens, strict=True)):
            overlap = sum(self._idf.get(t, 0.0) for t in query if t in tokens)
            if category is not None:
                other = CategoryPath.parse(product.category)
                if other.key == category.key:
                    overlap += 2.0
                elif other.parts[:-1] == category.parts[:-1]:
                    overlap += 0.5
            if overlap > 0:
                scored.append((overlap, i))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [self.products[i] for _, i in scored[:limit]]
