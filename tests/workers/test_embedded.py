"""One real call of the embedded model: values are spans of the title or absent."""

from __future__ import annotations

import asyncio

import pytest

from dissensus.domain import AttributeSpec, Extraction, Product
from dissensus.workers import Generator, text_spans

pytestmark = pytest.mark.embedded


def test_gemma_answers_with_title_spans_or_absent() -> None:
    try:
        from dissensus.llm import open_model
    except ImportError:
        pytest.skip("dissensus.llm.open_model does not exist yet")
    try:
        llm = open_model("local:gemma3-270m")
    except Exception as exc:  # any reason the engine or weights are unavailable
        pytest.skip(f"local:gemma3-270m does not open here: {type(exc).__name__}: {exc}")

    product = Product(id="t1", title="Diesel Men's Exposure High-Top Sneaker", category="Shoes")
    attributes = [
        AttributeSpec(name="Brand", description="The maker of the shoe."),
        AttributeSpec(name="Gender"),
        AttributeSpec(name="Shoe type"),
    ]

    async def go() -> Extraction:
        try:
            return await Generator(llm, role="generator-a").extract(product, attributes, [])
        finally:
            await llm.aclose()

    extraction = asyncio.run(go())
    assert not extraction.abstained, extraction.error
    spans = set(text_spans([product.title]))
    for name, value in extraction.values.items():
        assert value is None or value in spans, (name, value)
    assert extraction.usage.requests >= 1
