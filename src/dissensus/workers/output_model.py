"""Per-product output models: the JSON schemas the workers' answers are decoded against.

One field per attribute, keyed by the attribute's name (an alias, since names such as
``"Model name"`` are not identifiers). Each field is an enum: the attribute's closed values, or
the word spans of the product text (:func:`~dissensus.workers.spans.text_spans`), always with
``"n/a"``. Backends with JSON-schema constrained decoding then cannot produce an invented value.
The enums live only in the schema, never in the prompt, so the prompt prefix stays shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from dissensus.domain.extraction import Verdict, VerdictKind
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.workers.spans import NA, closed_options, text_spans

__all__ = [
    "SpanOptions",
    "evaluation_model",
    "extraction_model",
    "read_values",
    "read_verdicts",
]


class SpanOptions(BaseModel):
    """How the span enum of open attributes is built (see :func:`text_spans`)."""

    model_config = ConfigDict(frozen=True)

    max_words: int = Field(default=6, ge=1)
    """Longest span in words."""
    limit: int = Field(default=400, ge=1)
    """Most options per attribute, ``"n/a"`` included; shorter spans win."""
    constrain: bool = True
    """False gives open attributes a plain string (for hosted models that do not need it)."""

    def for_product(self, product: Product) -> list[str]:
        return text_spans(
            [product.title, product.description], max_words=self.max_words, limit=self.limit
        )


_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


def _enum_schema(schema: dict[str, Any]) -> None:
    # Pydantic writes a one-member Literal as "const"; some grammar converters only know "enum".
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]


def _value_type(options: Sequence[str] | None, max_chars: int) -> tuple[Any, dict[str, Any]]:
    if options is None:
        return str, {"max_length": max_chars}
    return Literal[tuple(options)], {"json_schema_extra": _enum_schema}


def _check_names(attributes: Sequence[AttributeSpec]) -> None:
    names = [a.name for a in attributes]
    if len(set(names)) != len(names):
        raise ValueError(f"attribute names must be unique, got {names}")


def _options_by_attribute(
    product: Product, attributes: Sequence[AttributeSpec], spans: SpanOptions
) -> list[list[str] | None]:
    text: list[str] | None = None
    result: list[list[str] | None] = []
    for spec in attributes:
        if spec.values:
            result.append(closed_options(spec.values))
        elif spans.constrain:
            text = text if text is not None else spans.for_product(product)
            result.append(text)
        else:
            result.append(None)
    return result


def extraction_model(
    product: Product,
    attributes: Sequence[AttributeSpec],
    *,
    spans: SpanOptions | None = None,
) -> type[BaseModel]:
    """Build the generator's output model for one product.

    Args:
        product: The product whose text supplies the span enum.
        attributes: Attributes to extract, in prompt order (the JSON keys keep that order).
        spans: How to build the span enum; defaults to :class:`SpanOptions`.

    Returns:
        A pydantic model with one required field per attribute, aliased to the attribute name,
        described by the attribute's description; values are enums ending in ``"n/a"``.
    """
    spans = spans or SpanOptions()
    _check_names(attributes)
    fields: dict[str, Any] = {}
    for i, (spec, options) in enumerate(
        zip(attributes, _options_by_attribute(product, attributes, spans), strict=True)
    ):
        annotation, extra = _value_type(options, max_chars=120)
        fields[f"a{i}"] = (
            annotation,
            Field(alias=spec.name, description=spec.description or None, **extra),
        )
    return create_model("ProductAttributes", __config__=_STRICT, **fields)


def evaluation_model(
    product: Product,
    attributes: Sequence[AttributeSpec],
    *,
    spans: SpanOptions | None = None,
    reason_chars: int = 120,
) -> type[BaseModel]:
    """Build the evaluator's output model: per attribute a verdict, a short reason, a suggestion.

    The suggestion shares the attribute's enum so that a tiny evaluator cannot suggest a value
    the text does not contain; ``"n/a"`` means no suggestion. The reason is capped at
    ``reason_chars`` because small models are slow at long outputs; 0 leaves it out.
    """
    spans = spans or SpanOptions()
    _check_names(attributes)
    # One nested model per distinct enum: open attributes share the span enum, so the schema
    # carries it once in $defs instead of once per attribute.
    nested: dict[tuple[str, ...] | None, type[BaseModel]] = {}
    fields: dict[str, Any] = {}
    for i, (spec, options) in enumerate(
        zip(attributes, _options_by_attribute(product, attributes, spans), strict=True)
    ):
        key = tuple(options) if options is not None else None
        if key not in nested:
            annotation, extra = _value_type(options, max_chars=120)
            parts: dict[str, Any] = {
                "verdict": (VerdictKind, Field(description="ok, wrong, missing or ambiguous")),
            }
            # reason_chars=0 drops the reason: on a tiny model it is mostly noise and costs
            # output tokens on every product.
            if reason_chars > 0:
                parts["reason"] = (
                    str,
                    Field(max_length=reason_chars, description="A few words why."),
                )
            parts["suggestion"] = (
                annotation,
                Field(description='The right value from the text, or "n/a" for none.', **extra),
            )
            nested[key] = create_model(
                f"AttributeVerdict{len(nested)}", __config__=_STRICT, **parts
            )
        fields[f"a{i}"] = (
            nested[key],
            Field(alias=spec.name, description=f"Verdict on {spec.name}"),
        )
    return create_model("AttributeVerdicts", __config__=_STRICT, **fields)


def _value(raw: object) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return None if not text or text.casefold() == NA else text


def read_values(output: BaseModel, attributes: Sequence[AttributeSpec]) -> dict[str, str | None]:
    """Turn a generator's output into ``Extraction.values``: ``"n/a"`` becomes ``None``.

    Attributes missing from the output are left out, so consensus sees them as not answered.
    """
    dumped = output.model_dump(by_alias=True)
    return {a.name: _value(dumped[a.name]) for a in attributes if a.name in dumped}


def read_verdicts(output: BaseModel, attributes: Sequence[AttributeSpec]) -> dict[str, Verdict]:
    """Turn an evaluator's output into ``Evaluation.verdicts`` (suggestion ``"n/a"`` → ``None``)."""
    dumped = output.model_dump(by_alias=True)
    verdicts: dict[str, Verdict] = {}
    for spec in attributes:
        item = dumped.get(spec.name)
        if not isinstance(item, dict):
            continue
        verdicts[spec.name] = Verdict(
            attribute=spec.name,
            verdict=item["verdict"],
            reason=str(item.get("reason") or "").strip(),
            suggestion=_value(item.get("suggestion")),
        )
    return verdicts
