"""The catalog schema: which attributes each category has, with inheritance down the tree."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from dissensus.domain.category import CategoryPath
from dissensus.errors import SchemaError

__all__ = ["AttributeSpec", "CatalogSchema", "CategorySchema"]


class AttributeSpec(BaseModel):
    """One attribute to extract."""

    name: str = Field(min_length=1)
    description: str | None = None
    """Shown to workers and the supervisor; say what counts as a value."""
    values: list[str] | None = None
    """The closed set of allowed values, if the attribute has one."""


class CategorySchema(BaseModel):
    """A schema entry: a category path and the attributes it adds to its ancestors'."""

    path: str
    attributes: list[AttributeSpec] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _valid_path(cls, v: str) -> str:
        CategoryPath.parse(v)
        return v

    @property
    def category(self) -> CategoryPath:
        return CategoryPath.parse(self.path)


class CatalogSchema(BaseModel):
    """All schema entries; answers "which attributes does this product's category have?"."""

    categories: list[CategorySchema]

    @classmethod
    def load(cls, path: Path) -> CatalogSchema:
        """Read a YAML schema file; errors name the file and what is wrong."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SchemaError(f"schema file {str(path)!r} does not exist") from exc
        except yaml.YAMLError as exc:
            raise SchemaError(f"schema file {str(path)!r} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict) or "categories" not in raw:
            raise SchemaError(f"schema file {str(path)!r} needs a top-level 'categories:' list")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise SchemaError(f"schema file {str(path)!r} is invalid: {exc}") from exc

    def _by_key(self) -> dict[str, CategorySchema]:
        return {c.category.key: c for c in self.categories}

    def has(self, path: CategoryPath) -> bool:
        return path.key in self._by_key()

    def attributes_for(self, path: CategoryPath) -> list[AttributeSpec]:
        """The category's own attributes plus its ancestors' (nearest definition wins).

        Raises SchemaError when the category itself has no entry, because extracting with a
        guessed schema would publish attributes nobody asked for.
        """
        by_key = self._by_key()
        if path.key not in by_key:
            raise SchemaError(
                f"category {str(path)!r} has no schema entry; add it under 'categories:'"
            )
        merged: dict[str, AttributeSpec] = {}
        for ancestor in path.ancestors():
            entry = by_key.get(ancestor.key)
            if entry is None:
                continue
            for spec in entry.attributes:
                merged[spec.name] = spec
        return list(merged.values())

    def paths(self) -> list[CategoryPath]:
        return [c.category for c in self.categories]
