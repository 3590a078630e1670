"""``dissensus bench retrieval``: the methods' top examples, counted by hand on a tiny data set."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dissensus.bench.retrieval import RetrievalConfig, run_retrieval
from dissensus.cli import app
from dissensus.llm.embedding import MINILM_PACKAGE
from dissensus.llm.testing import ScriptedLLM, ScriptedRequest

pytestmark = pytest.mark.anyio


def _rec(title: str, **labels: str) -> dict[str, Any]:
    return {
        "input": title,
        "category": "Shoes",
        "target_scores": {name: {value: 1} for name, value in labels.items()},
    }


VERIFIED = [
    _rec("Nike Air Zoom Running Shoe Black", Brand="Nike", Color="Black"),
    _rec("Adidas Samba Sneaker White", Brand="Adidas", Color="White"),
    _rec("Puma Suede Classic Red", Brand="Puma", Color="Red"),
    _rec("Nike Revolution Trainer Blue", Brand="Nike", Color="Blue"),
]
QUERIES = [
    _rec("Nike Pegasus Running Shoe White", Brand="Nike", Color="White"),
    _rec("Puma Future Rider Red", Brand="Puma", Color="Red"),
]


def write_data(folder: Path) -> Path:
    folder.mkdir()
    for name, records in {
        "train.jsonl": VERIFIED + QUERIES,
        "train_0.2.jsonl": VERIFIED,
        "test.jsonl": [_rec("Vans Old Skool Black", Brand="Vans", Color="Black")],
    }.items():
        lines = [json.dumps(r) for r in records]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def copy_first_example(request: ScriptedRequest) -> dict[str, str]:
    """A worker that copies the first example's values where the product's title has them."""
    title = re.search(r"^Product title: (.+)$", request.prompt, re.M)
    first = re.search(r'^1\. "[^"]*" -> (.*)$', request.prompt, re.M)
    assert title is not None and first is not None, request.prompt
    shown = dict(part.split(": ", 1) for part in first.group(1).split("; "))
    return {
        name: value if value.lower() in title.group(1).lower() else "n/a"
        for name, value in ((n, shown.get(n, "n/a")) for n in ("Brand", "Color"))
    }


async def test_ranked_examples_show_more_of_the_queries_values_than_the_first_ones(
    tmp_path: Path,
) -> None:
    data = write_data(tmp_path / "data")
    config = RetrievalConfig(data_dir=str(data), methods=["first", "words", "bm25"], k=1)
    report = await run_retrieval(config)
    assert report.pool == 4
    hits = {r.method: (r.labelled_values, r.value_hits, r.attribute_hits) for r in report.results}
    # "first" always shows the Nike/Black shoe: only the Nike query's brand is there to copy.
    # Ranked, the Nike runner and the red Puma come first: three of the four values.
    assert hits == {"first": (4, 1, 4), "words": (4, 3, 4), "bm25": (4, 3, 4)}


async def test_a_generator_shown_better_examples_scores_higher(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    config = RetrievalConfig(data_dir=str(data), methods=["first", "words"], k=1)
    llm = ScriptedLLM("scripted:copy", copy_first_example)
    report = await run_retrieval(config, llm=llm)
    f1 = {r.method: r.f1 for r in report.results}
    # words: Nike, Puma and Red right, White missed (P 100, R 75); first: Nike only (R 25).
    assert f1 == {"first": 40.0, "words": 85.71}
    [interval] = report.intervals
    assert (interval.a, interval.b, interval.difference) == ("first", "words", -45.71)


def test_embedding_ranks_with_the_packaged_model(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    pytest.importorskip("safetensors")
    if importlib.util.find_spec(MINILM_PACKAGE) is None:
        pytest.skip("the model package is not installed (make dev installs it)")
    data = write_data(tmp_path / "data")
    result = CliRunner().invoke(
        app,
        ["bench", "retrieval", "--data", str(data), "--methods", "embedding", "-k", "1",
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("{")]
    [embedding] = json.loads(line)["results"]
    assert embedding["method"] == "embedding"
    assert embedding["labelled_values"] == 4
    assert embedding["value_hits"] >= 2


def test_an_unknown_method_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "retrieval", "--methods", "words,magic"])
    assert result.exit_code == 2
    assert "unknown method 'magic'" in result.output
