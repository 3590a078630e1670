"""Products as they enter a run, and the validation that turns raw records into them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from dissensus.domain.category import CategoryPath
from dissensus.errors import RecordError

__all__ = ["SIGNAL_FIELDS", "Product", "clean_text"]

SIGNAL_FIELDS = ("reviews", "returns", "seller_history")
"""Free fields the supervisor reads as the product's signals when a record carries them."""

_KNOWN = {"id", "title", "description", "category"}
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))
_CONTROL[127] = None


def clean_text(text: str) -> str:
    """Text without NUL and other control characters (tabs and newlines stay).

    Seller text is hostile data: control characters reach no prompt, no value and no log.
    """
    return text.translate(_CONTROL)


class Product(BaseModel):
    """One seller listing to enrich."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    """Caller's identifier; output lines carry it back."""
    title: str = Field(min_length=1)
    description: str | None = None
    category: str = Field(min_length=1)
    """The category path as written in the input (``"Home > Kitchen > Knives"``)."""
    extra: dict[str, JsonValue] = Field(default_factory=dict)
    """Free fields of the record, kept and passed through; signals live here."""

    @property
    def path(self) -> CategoryPath:
        return CategoryPath.parse(self.category)

    @property
    def text(self) -> str:
        """Title and description: the only text workers may extract from."""
        return self.title if not self.description else f"{self.title}\n{self.description}"

    def signals(self) -> dict[str, JsonValue]:
        """Reviews, returns and seller history carried by the record, if any."""
        return {k: self.extra[k] for k in SIGNAL_FIELDS if k in self.extra}

    @classmethod
    def from_record(cls, record: Any, *, line: int | None = None) -> Product:
        """Validate one raw input record (a JSON object or CSV row).

        Raises RecordError naming the field and the line, so the run can write an error line
        for this record and go on with the others.
        """
        where = f"record {line}" if line is not None else "record"
        if not isinstance(record, dict):
            raise RecordError(f"{where}: expected a JSON object, got {type(record).__name__}")
        rid = record.get("id")
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if not isinstance(rid, str) or not rid.strip():
            raise RecordError(f"{where}: field 'id' must be a non-empty string")
        for name in ("title", "category"):
            value = record.get(name)
            if not isinstance(value, str) or not clean_text(value).strip():
                raise RecordError(
                    f"{where} (id {rid!r}): field {name!r} must be a non-empty string"
                )
        description = record.get("description")
        if description is not None and not isinstance(description, str):
            raise RecordError(f"{where} (id {rid!r}): field 'description' must be a string")
        try:
            CategoryPath.parse(record["category"])
        except ValueError as exc:
            raise RecordError(f"{where} (id {rid!r}): {exc}") from exc
        extra = {k: v for k, v in record.items() if k not in _KNOWN}
        return cls(
            id=rid.strip(),
            title=clean_text(record["title"]).strip(),
            description=clean_text(description or "").strip() or None,
            category=clean_text(record["category"]).strip(),
            extra=extra,
        )
