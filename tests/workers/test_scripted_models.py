"""The workers through ``dissensus.llm.testing``: the same validation path real models take."""

from __future__ import annotations

import asyncio
from typing import Any

from dissensus.domain import AttributeSpec, Learning, Product
from dissensus.llm.testing import QueuedLLM, ScriptedLLM, ScriptedRequest, echo_handler
from dissensus.workers import Evaluator, Generator, WorkerTeam
from dissensus.workers.spans import NA


def test_a_value_outside_the_enum_is_repaired_once(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    invented = {"Brand": "Nike", "Model name": NA, "Gender": "Men's", "Color": NA}
    fixed = {"Brand": "Fila", "Model name": NA, "Gender": "Men's", "Color": NA}
    llm = QueuedLLM("scripted:q", [invented, fixed])
    extraction = asyncio.run(Generator(llm, role="generator-a").extract(shoe, shoe_attributes, []))
    assert not extraction.abstained
    assert extraction.values == {
        "Brand": "Fila",
        "Model name": None,
        "Gender": "Men's",
        "Color": None,
    }
    assert extraction.usage.requests == 2
    assert llm.requests[1].attempt == 2 and llm.requests[1].feedback


def test_an_answer_invalid_twice_abstains(
    shoe: Product, shoe_attributes: list[AttributeSpec]
) -> None:
    invented = {"Brand": "Nike", "Model name": NA, "Gender": "Men's", "Color": NA}
    llm = QueuedLLM("scripted:q", [invented, invented])
    extraction = asyncio.run(Generator(llm, role="generator-a").extract(shoe, shoe_attributes, []))
    assert extraction.abstained and extraction.values == {}
    assert extraction.error
    assert extraction.usage.requests == 2


def test_a_team_of_scripted_models_runs_end_to_end(
    shoe: Product, shoe_attributes: list[AttributeSpec], learnings: list[Learning]
) -> None:
    def critic(request: ScriptedRequest) -> dict[str, Any]:
        assert '- Brand: "Fila"' in request.prompt
        names = request.output_type.model_json_schema()["properties"]
        return {n: {"verdict": "ok", "reason": "as stated", "suggestion": NA} for n in names}

    team = WorkerTeam(
        [
            Generator(ScriptedLLM("scripted:echo", echo_handler), role="generator-a"),
            Generator(
                ScriptedLLM("scripted:echo", echo_handler), role="generator-b", style="evidence"
            ),
        ],
        Evaluator(ScriptedLLM("scripted:critic", critic)),
    )
    output = asyncio.run(team.run(shoe, shoe_attributes, learnings))
    first, second = output.extractions
    assert first.values == second.values
    assert first.values["Brand"] == "Fila"
    assert output.evaluation is not None and not output.evaluation.abstained
    assert {v.verdict for v in output.evaluation.verdicts.values()} == {"ok"}
    assert output.learnings == ["L-brand-1", "L-color-2"]
    assert output.usage.requests == 3
