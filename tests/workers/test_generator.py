"""The generator: exact prompts, learnings ids, abstention and usage."""

from __future__ import annotations

import asyncio

from dissensus.domain import AttributeSpec, Extraction, Learning, Product, Usage
from dissensus.errors import ModelError
from dissensus.workers.generator import Generator, output_budget
from dissensus.workers.prompts import generator_system, product_prompt
from dissensus.workers.spans import NA

from .conftest import CALL_USAGE, FakeLLM, Request


def _answer(request: Request) -> dict[str, str]:
    assert request.output_type.model_json_schema()["properties"]["Brand"]["enum"][0] == "Fila"
    return {"Brand": "Fila", "Model name": "Hometown Extra-M", "Gender": "Men's", "Color": NA}


def test_extract_sends_shared_system_and_product_prompt_and_reads_values(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    llm = FakeLLM("local:gemma3-270m", _answer)
    generator = Generator(llm, role="generator-b", style="evidence")
    extraction = asyncio.run(generator.extract(shoe, shoe_attributes, learnings))

    assert extraction == Extraction(
        model="local:gemma3-270m",
        role="generator-b",
        values={
            "Brand": "Fila",
            "Model name": "Hometown Extra-M",
            "Gender": "Men's",
            "Color": None,
        },
        usage=CALL_USAGE,
        learnings=["L-brand-1", "L-color-2"],
    )
    [request] = llm.requests
    assert request.system == generator_system("Shoes", shoe_attributes, learnings, style="evidence")
    assert request.prompt == product_prompt(shoe)
    assert request.max_tokens == output_budget(shoe_attributes) == 32 + 24 * 4


def test_an_invalid_answer_is_an_abstention_that_keeps_usage_and_learnings(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    generator = Generator(FakeLLM("m", lambda r: None), role="generator-a")
    extraction = asyncio.run(generator.extract(shoe, shoe_attributes, learnings))
    assert extraction.abstained
    assert extraction.values == {}
    assert extraction.error == "output invalid after repair"
    assert extraction.usage == CALL_USAGE
    assert extraction.learnings == ["L-brand-1", "L-color-2"]


def test_a_failed_call_is_an_abstention_not_an_exception(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    def fail(request: Request) -> None:
        raise ModelError("local:gemma3-270m timed out after 30 s")

    extraction = asyncio.run(
        Generator(FakeLLM("m", fail), role="generator-a").extract(shoe, shoe_attributes, [])
    )
    assert extraction.abstained
    assert extraction.error == "local:gemma3-270m timed out after 30 s"
    assert extraction.usage == Usage()


def test_max_tokens_can_be_set(shoe: Product, shoe_attributes: list[AttributeSpec]) -> None:
    llm = FakeLLM("m", _answer)
    asyncio.run(Generator(llm, role="g", max_tokens=64).extract(shoe, shoe_attributes, []))
    assert llm.requests[0].max_tokens == 64
