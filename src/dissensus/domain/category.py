"""Category paths: the spine shared by schemas, batching and the knowledge tree.

A path is written by users as ``"Home > Kitchen > Knives"``; a single name is a one-level path.
The knowledge tree stores it as a materialized key (``"/home/kitchen/knives"``) so that subtree
queries are a prefix match on any database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ROOT_KEY", "CategoryPath"]

ROOT_KEY = "/"
"""Key of the knowledge tree's root node (learnings that apply to every category)."""

_SEPARATOR = ">"
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    slug = _SLUG_STRIP.sub("-", name.lower()).strip("-")
    return slug or "_"


@dataclass(frozen=True, slots=True)
class CategoryPath:
    """An immutable category path, root first (``("Home", "Kitchen", "Knives")``)."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> CategoryPath:
        """Parse ``"A > B > C"`` or a materialized key ``"/a/b/c"``; ValueError if empty."""
        text = text.strip()
        if text.startswith("/"):
            parts = tuple(p for p in text.split("/") if p)
        else:
            parts = tuple(p.strip() for p in text.split(_SEPARATOR))
        if not parts or any(not p for p in parts):
            raise ValueError(f"category path {text!r} is empty or has an empty level")
        return cls(parts)

    @property
    def key(self) -> str:
        """Materialized key used by the knowledge tree: ``/home/kitchen/knives``."""
        return "/" + "/".join(_slug(p) for p in self.parts)

    @property
    def depth(self) -> int:
        return len(self.parts)

    @property
    def name(self) -> str:
        """The last level (``"Knives"``)."""
        return self.parts[-1]

    def ancestors(self) -> list[CategoryPath]:
        """Paths from the top level down to and including this one."""
        return [CategoryPath(self.parts[: i + 1]) for i in range(len(self.parts))]

    def ancestor_keys(self) -> list[str]:
        """Knowledge-tree keys from the root (``/``) down to this path, inclusive."""
        return [ROOT_KEY, *(p.key for p in self.ancestors())]

    def covers(self, category: str) -> bool:
        """Whether ``category`` (a path as written) is this category or lies below it.

        The scope of a category's evidence: its verified products and learnings include its
        subcategories'. An unparsable category is covered by nothing.
        """
        try:
            other = CategoryPath.parse(category).key
        except ValueError:
            return False
        own = self.key
        return other == own or other.startswith(own.rstrip("/") + "/")

    def child(self, name: str) -> CategoryPath:
        return CategoryPath((*self.parts, name))

    def __str__(self) -> str:
        return " > ".join(self.parts)
