"""The team: generators concurrently, evaluator after, usage summed, batches bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from dissensus.domain import AttributeSpec, Extraction, Learning, Product, Usage
from dissensus.llm.base import Answer
from dissensus.workers.evaluator import Evaluator
from dissensus.workers.generator import Generator
from dissensus.workers.spans import NA
from dissensus.workers.team import WorkerOutput, WorkerTeam

from .conftest import CALL_USAGE, FakeLLM, Request


def _brand(request: Request) -> dict[str, Any]:
    fields = request.output_type.model_json_schema()["properties"]
    values = {name: NA for name in fields}
    values["Brand"] = "Fila"
    return values


def _ok(request: Request) -> dict[str, Any]:
    fields = request.output_type.model_json_schema()["properties"]
    return {name: {"verdict": "ok", "reason": "", "suggestion": NA} for name in fields}


def _team() -> WorkerTeam:
    return WorkerTeam(
        [
            Generator(FakeLLM("local:gemma3-270m", _brand), role="generator-a", style="direct"),
            Generator(FakeLLM("local:smollm2-135m", _brand), role="generator-b", style="evidence"),
        ],
        Evaluator(FakeLLM("local:gemma3-270m", _ok)),
    )


def test_run_collects_extractions_in_team_order_then_the_evaluation(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    output = asyncio.run(_team().run(shoe, shoe_attributes, learnings))
    assert [e.role for e in output.extractions] == ["generator-a", "generator-b"]
    assert all(e.values["Brand"] == "Fila" for e in output.extractions)
    assert output.evaluation is not None
    assert output.evaluation.verdicts["Brand"].verdict == "ok"
    assert output.usage == Usage(requests=3, input_tokens=300, output_tokens=60)
    assert output.models == ["local:gemma3-270m", "local:smollm2-135m"]
    assert output.learnings == ["L-brand-1", "L-color-2"]


def test_usage_counts_abstained_generators_and_no_evaluator() -> None:
    output = WorkerOutput(
        extractions=[
            _extraction(Usage(requests=2, input_tokens=10, output_tokens=1), abstained=True),
            _extraction(CALL_USAGE),
        ]
    )
    assert output.usage == Usage(requests=3, input_tokens=110, output_tokens=21)


def _extraction(usage: Usage, abstained: bool = False) -> Extraction:
    return Extraction(model="m", role=f"g{usage.requests}", usage=usage, abstained=abstained)


class _Gate(FakeLLM):
    """Blocks every call until ``expected`` calls are in flight at once."""

    def __init__(self, name: str, expected: int, handler: Any) -> None:
        super().__init__(name, handler)
        self.expected = expected
        self.in_flight = 0
        self.peak = 0
        self.all_in = asyncio.Event()

    async def structured(self, output_type: Any, **kwargs: Any) -> Answer[BaseModel]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight >= self.expected:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), timeout=2)
        try:
            return await super().structured(output_type, **kwargs)
        finally:
            self.in_flight -= 1


def test_generators_run_concurrently(shoe: Product, shoe_attributes: list[AttributeSpec]) -> None:
    async def go() -> int:
        llm = _Gate("m", expected=2, handler=_brand)
        team = WorkerTeam(
            [Generator(llm, role="a"), Generator(llm, role="b", style="evidence")], None
        )
        output = await team.run(shoe, shoe_attributes, [])
        assert output.evaluation is None
        return llm.peak

    assert asyncio.run(go()) == 2


def test_run_batch_keeps_order_and_bounds_concurrency(shoe_attributes: list[AttributeSpec]) -> None:
    products = [
        Product(id=str(i), title=f"Brand{i} Runner {i}", category="Shoes") for i in range(7)
    ]

    def brand_of(request: Request) -> dict[str, Any]:
        title = request.prompt.removeprefix("Product title: ")
        fields = request.output_type.model_json_schema()["properties"]
        return {name: (title.split()[0] if name == "Brand" else NA) for name in fields}

    async def go() -> tuple[list[WorkerOutput], int]:
        llm = _Gate("m", expected=3, handler=brand_of)
        team = WorkerTeam([Generator(llm, role="a")], None)
        outputs = await team.run_batch(products, shoe_attributes, [], concurrency=3)
        return outputs, llm.peak

    outputs, peak = asyncio.run(go())
    assert [o.extractions[0].values["Brand"] for o in outputs] == [f"Brand{i}" for i in range(7)]
    assert peak == 3


def test_team_refuses_duplicate_roles_and_no_generators() -> None:
    llm = FakeLLM("m", _brand)
    with pytest.raises(ValueError, match="unique"):
        WorkerTeam([Generator(llm, role="a"), Generator(llm, role="a")], None)
    with pytest.raises(ValueError, match="at least one"):
        WorkerTeam([], None)
