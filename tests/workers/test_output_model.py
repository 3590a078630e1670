"""The per-product output models: enums, aliases, and reading answers back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dissensus.domain import AttributeSpec, Product, Verdict
from dissensus.workers.output_model import (
    SpanOptions,
    evaluation_model,
    extraction_model,
    read_values,
    read_verdicts,
)
from dissensus.workers.spans import NA, text_spans


def test_extraction_schema_has_one_required_enum_per_attribute_keyed_by_name(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    schema = extraction_model(shoe, shoe_attributes).model_json_schema()
    assert list(schema["properties"]) == ["Brand", "Model name", "Gender", "Color"]
    assert schema["required"] == ["Brand", "Model name", "Gender", "Color"]
    assert schema["additionalProperties"] is False
    spans = text_spans([shoe.title])
    assert schema["properties"]["Brand"]["enum"] == spans
    assert schema["properties"]["Brand"]["description"] == "The maker of the shoe."
    assert schema["properties"]["Color"]["enum"] == spans
    assert schema["properties"]["Gender"]["enum"] == ["Men's", "Women's", "Unisex", NA]
    assert "description" not in schema["properties"]["Model name"]


def test_a_one_option_enum_is_written_as_enum_not_const() -> None:
    product = Product(id="x", title="...", category="Shoes")
    schema = extraction_model(product, [AttributeSpec(name="Brand")]).model_json_schema()
    assert schema["properties"]["Brand"]["enum"] == [NA]
    assert "const" not in schema["properties"]["Brand"]


def test_values_outside_the_enum_are_rejected(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    model = extraction_model(shoe, shoe_attributes)
    with pytest.raises(ValidationError):
        model.model_validate({"Brand": "Nike", "Model name": NA, "Gender": NA, "Color": NA})


def test_na_reads_as_none_and_values_keep_their_casing(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    model = extraction_model(shoe, shoe_attributes)
    output = model.model_validate(
        {"Brand": "Fila", "Model name": "Hometown Extra-M", "Gender": "Men's", "Color": NA}
    )
    assert read_values(output, shoe_attributes) == {
        "Brand": "Fila",
        "Model name": "Hometown Extra-M",
        "Gender": "Men's",
        "Color": None,
    }


def test_unconstrained_spans_give_plain_strings(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    schema = extraction_model(
        shoe, shoe_attributes, spans=SpanOptions(constrain=False)
    ).model_json_schema()
    assert "enum" not in schema["properties"]["Brand"]
    assert schema["properties"]["Brand"]["maxLength"] == 120
    assert schema["properties"]["Gender"]["enum"] == ["Men's", "Women's", "Unisex", NA]


def test_duplicate_attribute_names_are_refused(shoe: Product) -> None:
    with pytest.raises(ValueError, match="unique"):
        extraction_model(shoe, [AttributeSpec(name="Brand"), AttributeSpec(name="Brand")])


def test_evaluation_schema_shares_the_span_enum_and_caps_the_reason(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    schema = evaluation_model(shoe, shoe_attributes, reason_chars=80).model_json_schema()
    assert set(schema["$defs"]) == {"AttributeVerdict0", "AttributeVerdict1"}
    open_ref = schema["properties"]["Brand"]["$ref"]
    assert schema["properties"]["Color"]["$ref"] == open_ref
    verdict = schema["$defs"]["AttributeVerdict0"]
    assert list(verdict["properties"]) == ["verdict", "reason", "suggestion"]
    assert verdict["properties"]["verdict"]["enum"] == ["ok", "wrong", "missing", "ambiguous"]
    assert verdict["properties"]["reason"]["maxLength"] == 80
    assert verdict["properties"]["suggestion"]["enum"] == text_spans([shoe.title])
    closed = schema["$defs"]["AttributeVerdict1"]["properties"]["suggestion"]
    assert closed["enum"] == ["Men's", "Women's", "Unisex", NA]


def test_verdicts_are_read_with_na_suggestions_as_none(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    model = evaluation_model(shoe, shoe_attributes)
    ok = {"verdict": "ok", "reason": "", "suggestion": NA}
    output = model.model_validate(
        {
            "Brand": ok,
            "Model name": {
                "verdict": "wrong",
                "reason": " cut short ",
                "suggestion": "Hometown Extra-M",
            },
            "Gender": ok,
            "Color": {
                "verdict": "missing",
                "reason": "stated",
                "suggestion": "Black/White/Vintage Red",
            },
        }
    )
    verdicts = read_verdicts(output, shoe_attributes)
    assert verdicts["Brand"] == Verdict(attribute="Brand", verdict="ok", reason="", suggestion=None)
    assert verdicts["Model name"] == Verdict(
        attribute="Model name", verdict="wrong", reason="cut short", suggestion="Hometown Extra-M"
    )
    assert verdicts["Color"].suggestion == "Black/White/Vintage Red"


def test_reasons_longer_than_the_cap_are_invalid(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    model = evaluation_model(shoe, shoe_attributes[:1], reason_chars=10)
    with pytest.raises(ValidationError):
        model.model_validate({"Brand": {"verdict": "ok", "reason": "x" * 11, "suggestion": NA}})


def test_reason_chars_zero_leaves_the_reason_out(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    model = evaluation_model(shoe, shoe_attributes[:1], reason_chars=0)
    schema = model.model_json_schema()
    assert list(schema["$defs"]["AttributeVerdict0"]["properties"]) == ["verdict", "suggestion"]
    output = model.model_validate({"Brand": {"verdict": "wrong", "suggestion": "Fila"}})
    assert read_verdicts(output, shoe_attributes[:1])["Brand"] == Verdict(
        attribute="Brand", verdict="wrong", reason="", suggestion="Fila"
    )
