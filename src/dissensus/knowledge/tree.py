"""The shape of the knowledge tree: node descriptions and materialized-key arithmetic.

Keys are materialized paths (``/``, ``/shoes``, ``/shoes/sneakers``) built from
:attr:`dissensus.domain.CategoryPath.key`, so a subtree is a prefix match on any database.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from dissensus.domain import ROOT_KEY, CategoryPath, LearningStatus

__all__ = ["ROOT_NAME", "NodeInfo", "child_key", "depth_of", "in_subtree", "parent_of"]

ROOT_NAME = "All categories"
"""Display name of the root node, whose learnings apply to every category."""


class NodeInfo(BaseModel):
    """A node of the tree as shown to users and to the memory manager."""

    key: str
    """Materialized path, ``/`` for the root."""
    name: str
    """Display name (``Sneakers``)."""
    depth: int
    """0 for the root, 1 for top-level categories."""
    parent: str | None
    """Key of the parent node; ``None`` for the root."""
    counts: dict[LearningStatus, int] = Field(default_factory=dict)
    """Learnings on this node (not its subtree) by status; statuses with none are left out."""

    @property
    def active(self) -> int:
        """Active learnings on this node."""
        return self.counts.get("active", 0)

    @property
    def parent_key(self) -> str | None:
        """Same as :attr:`parent`, named like the ``kb_nodes`` column the CLI reads."""
        return self.parent


def child_key(parent: str, name: str) -> str:
    """Key of the child called ``name`` under ``parent`` (the name is slugged like paths are)."""
    own = CategoryPath((name,)).key
    return own if parent == ROOT_KEY else parent + own


def depth_of(key: str) -> int:
    """Depth of a key: 0 for ``/``, 1 for ``/shoes``."""
    return 0 if key == ROOT_KEY else key.count("/")


def parent_of(key: str) -> str | None:
    """Key of the parent node, ``None`` for the root."""
    if key == ROOT_KEY:
        return None
    head = key.rsplit("/", 1)[0]
    return head or ROOT_KEY


def in_subtree(key: str, prefix: str) -> bool:
    """True when ``key`` is ``prefix`` or lies below it."""
    return prefix == ROOT_KEY or key == prefix or key.startswith(prefix + "/")
