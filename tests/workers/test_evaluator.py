"""The evaluator: candidates it sees, verdicts it returns, abstention."""

from __future__ import annotations

import asyncio

from dissensus.domain import AttributeSpec, Extraction, Learning, Product, Verdict
from dissensus.workers.evaluator import Evaluator, candidates_by_attribute
from dissensus.workers.prompts import evaluator_prompt, evaluator_system
from dissensus.workers.spans import NA

from .conftest import CALL_USAGE, FakeLLM, Request


def _extractions() -> list[Extraction]:
    return [
        Extraction(
            model="m",
            role="generator-a",
            values={"Brand": "Fila", "Model name": "Hometown", "Gender": "Men's", "Color": None},
        ),
        Extraction(
            model="m",
            role="generator-b",
            values={"Brand": "Fila", "Model name": "Hometown Extra-M", "Gender": None},
        ),
        Extraction(model="m", role="generator-c", abstained=True, error="invalid"),
    ]


def test_candidates_are_distinct_sorted_with_absent_last_and_skip_abstentions(
    shoe_attributes: list[AttributeSpec],
) -> None:
    assert candidates_by_attribute(shoe_attributes, _extractions()) == {
        "Brand": ["Fila"],
        "Model name": ["Hometown", "Hometown Extra-M"],
        "Gender": ["Men's", None],
        "Color": [None],
    }
    reordered = list(reversed(_extractions()))
    assert candidates_by_attribute(shoe_attributes, reordered) == candidates_by_attribute(
        shoe_attributes, _extractions()
    )


def _verdicts(request: Request) -> dict[str, dict[str, str]]:
    ok = {"verdict": "ok", "reason": "as stated", "suggestion": NA}
    return {
        "Brand": ok,
        "Model name": {"verdict": "ambiguous", "reason": "-M may be a width", "suggestion": NA},
        "Gender": ok,
        "Color": {
            "verdict": "missing",
            "reason": "colour is stated",
            "suggestion": "Black/White/Vintage Red",
        },
    }


def test_evaluate_sends_the_critical_prompt_and_parses_verdicts(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    llm = FakeLLM("openai:gpt-4o-mini", _verdicts)
    evaluation = asyncio.run(
        Evaluator(llm, reason_chars=60).evaluate(shoe, shoe_attributes, _extractions(), learnings)
    )
    assert evaluation.model == "openai:gpt-4o-mini"
    assert evaluation.learnings == ["L-brand-1", "L-color-2"]
    assert evaluation.usage == CALL_USAGE
    assert not evaluation.abstained
    assert evaluation.verdicts["Model name"] == Verdict(
        attribute="Model name", verdict="ambiguous", reason="-M may be a width", suggestion=None
    )
    assert evaluation.verdicts["Color"] == Verdict(
        attribute="Color",
        verdict="missing",
        reason="colour is stated",
        suggestion="Black/White/Vintage Red",
    )
    [request] = llm.requests
    assert request.system == evaluator_system("Shoes", shoe_attributes, learnings)
    assert request.prompt == evaluator_prompt(
        shoe, candidates_by_attribute(shoe_attributes, _extractions())
    )
    assert request.max_tokens == 32 + 4 * (40 + 20)


def test_nothing_to_judge_when_every_generator_abstained(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    llm = FakeLLM("m", _verdicts)
    abstained = [Extraction(model="m", role="generator-a", abstained=True)]
    evaluation = asyncio.run(Evaluator(llm).evaluate(shoe, shoe_attributes, abstained, []))
    assert evaluation.abstained
    assert evaluation.verdicts == {}
    assert llm.requests == []


def test_an_invalid_evaluation_is_an_abstention(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    evaluation = asyncio.run(
        Evaluator(FakeLLM("m", lambda r: None)).evaluate(shoe, shoe_attributes, _extractions(), [])
    )
    assert evaluation.abstained
    assert evaluation.usage == CALL_USAGE
    assert evaluation.error == "output invalid after repair"
