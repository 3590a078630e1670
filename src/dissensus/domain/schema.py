"""The catalog schema: which attributes each category has, with inheritance down the tree."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dissensus.domain.category import CategoryPath
from dissensus.errors import SchemaError

__all__ = ["AttributeSpec", "CatalogSchema", "CategorySchema"]


class _Strict(BaseModel):
    """Schema entries refuse unknown keys: ``atributes:`` once loaded as a category with no
    attributes, and the run published empty records with exit 0."""

    model_config = ConfigDict(extra="forbid")


class AttributeSpec(_Strict):
    """One attribute to extract."""

    name: str = Field(min_length=1)
    description: str | None = None
    """Shown to workers and the supervisor; say what counts as a value."""
    values: list[str] | None = Field(default=None, min_length=1)
    """The closed set of allowed values, if the attribute has one (not empty: no value could be
    right)."""

    @property
    def choices(self) -> str:
        """`` (one of: yes, no)`` for a closed set, else empty: how every prompt names the
        allowed values (a supervisor once saw "- Laptop compartment" bare where its generator
        had read the set)."""
        return f" (one of: {', '.join(self.values)})" if self.values else ""


class CategorySchema(_Strict):
    """A schema entry: a category path and the attributes it adds to its ancestors'."""

    path: str
    attributes: list[AttributeSpec] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _valid_path(cls, v: str) -> str:
        CategoryPath.parse(v)
        return v

    @field_validator("attributes")
    @classmethod
    def _distinct_names(cls, v: list[AttributeSpec]) -> list[AttributeSpec]:
        seen: set[str] = set()
        for spec in v:
            if spec.name in seen:
                raise ValueError(f"attribute {spec.name!r} is listed twice")
            seen.add(spec.name)
        return v

    @property
    def category(self) -> CategoryPath:
        return CategoryPath.parse(self.path)


class CatalogSchema(_Strict):
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
            raise SchemaError(
                f"schema file {str(path)!r} is invalid: {_explain(exc, raw)}"
            ) from exc

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


def _explain(exc: ValidationError, raw: object) -> str:
    """One line per problem, naming the category by its path and, for an unknown key, the
    closest valid one (pydantic's own text ends in a URL and names entries by index)."""
    lines = []
    for error in exc.errors():
        location = tuple(error["loc"])
        where = _where(location, raw)
        if error["type"] == "extra_forbidden":
            model = (CatalogSchema, CategorySchema, AttributeSpec)[min(len(location) // 2, 2)]
            close = difflib.get_close_matches(str(location[-1]), list(model.model_fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{where}unknown key {str(location[-1])!r}{hint}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}{_dotted(location[2:] if where else location)}: {message}")
    return "; ".join(lines)


def _where(location: tuple[object, ...], raw: object) -> str:
    """``in category 'A > B': `` for a problem inside a category entry that has a path."""
    if len(location) < 2 or location[0] != "categories" or not isinstance(raw, dict):
        return ""
    entries = raw.get("categories")
    index = location[1]
    if not isinstance(entries, list) or not isinstance(index, int) or index >= len(entries):
        return ""
    entry = entries[index]
    path = entry.get("path") if isinstance(entry, dict) else None
    return f"in category {path!r}: " if isinstance(path, str) else f"in categories[{index}]: "


def _dotted(location: tuple[object, ...]) -> str:
    """``attributes[2].values`` for pydantic's ``('attributes', 2, 'values')``."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out
