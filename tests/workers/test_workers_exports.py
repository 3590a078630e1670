"""The public surface of the workers room, and its rule: models only through dissensus.llm."""

from __future__ import annotations

import ast
from pathlib import Path

import dissensus.workers as workers

ROOM = Path(workers.__file__).parent


def test_exported_members() -> None:
    assert workers.__all__ == sorted(workers.__all__, key=lambda n: (not n.isupper(), n))
    assert set(workers.__all__) == {
        "EXAMPLES_HEADING",
        "LEXICON_MODEL",
        "LexiconWorker",
        "ProductEvidence",
        "render_examples",
        "LEARNINGS_HEADING",
        "NA",
        "Evaluator",
        "Generator",
        "GeneratorStyle",
        "SpanOptions",
        "WorkerOutput",
        "WorkerTeam",
        "candidates_by_attribute",
        "closed_options",
        "evaluation_model",
        "evaluator_prompt",
        "evaluator_system",
        "extraction_model",
        "generator_system",
        "output_budget",
        "product_prompt",
        "read_values",
        "read_verdicts",
        "render_learnings",
        "text_spans",
        "usable_learnings",
    }
    for name in workers.__all__:
        assert hasattr(workers, name), name


def test_workers_import_no_sdk_and_no_consensus() -> None:
    forbidden = (
        "dissensus.consensus",
        "dissensus.storage",
        "dissensus.pipeline",
        "dissensus.knowledge",
        "pydantic_ai",
        "xllamacpp",
        "openai",
        "anthropic",
    )
    for path in ROOM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            for name in names:
                assert not name.startswith(forbidden), (path, name)
