"""Gold labels never reach a run: poisoned labels give byte-identical pipeline inputs and outputs.

The benchmark runs twice on scripted models: once on the data as it is, once with every gold
value of ``train.jsonl`` and ``test.jsonl`` (and the test attribute names) replaced by poison
strings. ``train_0.2`` — the verified catalog the supervisor may read — is the same in both. Every
prompt any model saw, every prediction, the stream statistics and the knowledge base must be
identical; only the scores (computed from the gold labels) may differ.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dissensus.bench import BenchConfig, BenchResults, run_extraction
from dissensus.llm.testing import ScriptedLLM

from ._extraction_data import pool_with, scripted_models, settings, write_dataset

pytestmark = pytest.mark.anyio

_LEARNING_ID = re.compile(r"L-[0-9a-f]{6}")


def _mask(text: str) -> str:
    """Learning ids are random per run, and the memory manager lists a node's learnings with
    ties broken by id: mask the ids and compare each text as a sorted list of its lines."""
    return "\n".join(sorted(_LEARNING_ID.sub("L-??????", text).splitlines()))


async def _run(tmp_path: Path, *, poison: bool) -> tuple[list[ScriptedLLM], Path, BenchResults]:
    root = tmp_path / ("poisoned" if poison else "clean")
    data = write_dataset(root / "data", poison=poison)
    models = scripted_models()
    out = root / "out"
    bench = BenchConfig(
        data_dir=str(data),
        out_dir=str(out),
        seed=7,
        stream_limit=None,
        eval_limit=None,
        checkpoint_every=3,
        window=4,
    )
    async with pool_with(models) as pool:
        # One product at a time: with two in flight, which learning is placed first (and so the
        # knowledge base) would depend on scheduling, not on the data.
        results = await run_extraction(bench, settings(concurrency=1), open_model=pool.get)
    return models, out, results


def _prompts(models: list[ScriptedLLM]) -> list[tuple[str, str, str, str]]:
    return [
        (m.name, r.output_type.__name__, _mask(r.system), _mask(r.prompt))
        for m in models
        for r in m.requests
    ]


def _outputs(out: Path) -> dict[str, Any]:
    predictions = {p.name: p.read_text() for p in sorted((out / "predictions").iterdir())}
    runs = {p.name: p.read_text() for p in sorted((out / "work" / "outputs").iterdir())}
    inputs = {p.name: p.read_text() for p in sorted((out / "work").glob("*.jsonl"))}
    knowledge = json.loads((out / "knowledge.json").read_text())
    learnings = [
        {k: v for k, v in item.items() if k not in {"created_at", "updated_at"}}
        for item in knowledge["learnings"]
    ]
    return {
        "predictions": predictions,
        "runs": {k: _mask(v) for k, v in runs.items()},
        "inputs": inputs,
        "schema": (out / "work" / "schema.yaml").read_text(),
        "learnings": sorted(_mask(json.dumps(item, sort_keys=True)) for item in learnings),
    }


_TIMES = {"wall_seconds", "model_seconds_per_product", "model_seconds_per_product_by_role"}


def _pipeline_numbers(results: BenchResults) -> dict[str, Any]:
    """Everything in the results that the pipeline produced (not the scores, not the times)."""
    return {
        "stream": results.stream.model_dump(exclude=_TIMES) if results.stream else None,
        "windows": [w.model_dump(exclude=_TIMES) for w in results.windows],
        "checkpoints": [
            (c.after, c.learnings, c.stats.model_dump(exclude=_TIMES)) for c in results.checkpoints
        ],
        "schema": results.schema_attributes,
    }


async def test_poisoned_gold_labels_change_no_prompt_and_no_output(tmp_path: Path) -> None:
    clean_models, clean_out, clean = await _run(tmp_path, poison=False)
    poisoned_models, poisoned_out, poisoned = await _run(tmp_path, poison=True)

    clean_prompts = _prompts(clean_models)
    poisoned_prompts = _prompts(poisoned_models)
    assert len(clean_prompts) > 50
    assert poisoned_prompts == clean_prompts
    assert not any("POISON" in "".join(p) for p in poisoned_prompts)

    assert _outputs(poisoned_out) == _outputs(clean_out)
    for stats in (clean.stream, poisoned.stream):
        assert stats is not None and stats.learnings_added > 0
    assert _pipeline_numbers(poisoned) == _pipeline_numbers(clean)

    # The scorer did read the labels: against poison nothing is correct.
    assert clean.arms["learning"].scores.published.micro.counts.vc > 0
    assert poisoned.arms["learning"].scores.published.micro.counts.vc == 0
