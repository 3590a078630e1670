"""The extraction benchmark end to end on scripted models: arms, curve, outputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.bench import BenchConfig, BenchResults, checkpoints, run_extraction
from dissensus.cli.bench import bench_app
from dissensus.errors import InputError

from ._extraction_data import pool_with, scripted_models, settings, write_dataset

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dissensus home, so nothing touches ``~/.dissensus``."""
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return path


def config(data: Path, out: Path, **overrides: object) -> BenchConfig:
    values: dict[str, object] = {
        "data_dir": str(data),
        "out_dir": str(out),
        "seed": 3,
        "stream_limit": 8,
        "eval_limit": None,
        "checkpoint_every": 4,
        "window": 3,
    }
    values.update(overrides)
    return BenchConfig.model_validate(values)


def test_checkpoints_include_zero_every_n_and_the_end() -> None:
    assert checkpoints(8, 4) == [0, 4, 8]
    assert checkpoints(10, 4) == [0, 4, 8, 10]
    assert checkpoints(0, 4) == [0]
    with pytest.raises(InputError, match="--checkpoint-every must be at least 1"):
        checkpoints(5, 0)


async def test_all_arms_run_side_by_side_and_write_every_output(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    async with pool_with(scripted_models()) as pool:
        results = await run_extraction(config(data, out), settings(), open_model=pool.get)

    assert list(results.arms) == [
        "lexicon",
        "single",
        "few-shot",
        "no-learning",
        "learning",
        "supervisor-only",
    ]
    assert results.dataset == "data"  # no SOURCE.md: the folder's name
    assert [c.after for c in results.checkpoints] == [0, 4, 8]
    zero, last = results.checkpoints[0], results.checkpoints[-1]
    # Checkpoint 0 is the no-learning arm; generator-a's raw output there is the few-shot arm.
    assert results.arms["no-learning"].scores == zero.system
    assert results.arms["few-shot"].scores == zero.generator
    assert results.arms["learning"].scores == last.system
    # The lexicon arm calls no model; single (zero-shot) is a pass of its own.
    assert results.arms["lexicon"].stats.tokens_per_product == 0
    assert results.arms["single"].stats.tokens_per_product > 0
    assert zero.learnings == 0 and last.learnings > 0
    # The supervisor's resolutions are checked against the labels at every checkpoint.
    assert all(c.supervisor.slots > 0 for c in results.checkpoints)
    # Every difference the report names has an interval, in both variants.
    pairs = {(i.a, i.b, i.variant) for i in results.intervals}
    assert ("learning", "no-learning", "published") in pairs
    assert ("learning", "lexicon", "strict") in pairs
    # Whether the workers earn their cost: the whole team against the supervisor alone.
    assert ("no-learning", "supervisor-only", "published") in pairs
    assert all(i.low <= i.difference <= i.high for i in results.intervals)
    # The generators disagree, so the stream goes to the supervisor and learns; what the
    # gate holds back stays proposed, so fewer learnings are active than were written.
    assert results.stream is not None and results.stream.products == 8
    assert results.stream.disagreement_rate == 1.0
    assert results.stream.supervisor_calls == 8
    assert results.stream.learnings_added >= last.learnings
    assert [(w.start, w.end) for w in results.windows] == [(0, 3), (3, 6), (6, 8)]
    assert sum(w.learnings_added for w in results.windows) == results.stream.learnings_added
    assert results.arms["supervisor-only"].stats.supervisor_calls == 4
    assert results.split_sizes == {"verified": 2, "stream": 8, "evaluation": 4}
    assert [m.name for m in results.models] == [
        "scripted:gen-a",
        "scripted:gen-b",
        "scripted:boss",
    ]

    written = BenchResults.model_validate_json((out / "results.json").read_text())
    assert written == results
    assert [d.role for d in written.data] == ["train", "verified", "test"]
    for name in ("f1_curve.png", "stream_windows.png", "tokens.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    report = (out / "report.md").read_text()
    for needle in (
        "68.80",
        "78.60",
        "82.20",
        "Learning curve",
        "Stream windows",
        "supervisor-only",
        "Differences between arms (95 % bootstrap intervals",
        "supervisor right (labelled slots)",
        "Cost per product by role",
        "# Extraction benchmark (data; ExtractGPT protocol)",
    ):
        assert needle in report
    assert "is the no-learning arm's evaluation" in report
    knowledge = json.loads((out / "knowledge.json").read_text())
    active = [lr for lr in knowledge["learnings"] if lr["status"] == "active"]
    assert len(active) == last.learnings
    assert {n["key"] for n in knowledge["nodes"]} >= {"/", "/shoes", "/tea"}
    predictions = (out / "predictions" / "learning-after-0008.jsonl").read_text().splitlines()
    assert len(predictions) == 4


async def test_reference_arms_alone_run_without_the_pipeline(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    models = scripted_models()
    async with pool_with(models) as pool:
        results = await run_extraction(
            config(data, tmp_path / "out", arms=["single", "supervisor-only"]),
            settings(),
            open_model=pool.get,
        )
    assert list(results.arms) == ["single", "supervisor-only"]
    assert results.checkpoints == [] and results.windows == []
    gen_a, gen_b, _ = models
    assert len(gen_a.requests) == 4 and gen_b.requests == []
    assert results.arms["single"].scores.published.micro.counts.scored > 0


async def test_no_learning_alone_reports_no_learning_interval(tmp_path: Path) -> None:
    """Without the learning arm, no interval may compare a "learning" arm that did not run."""
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        results = await run_extraction(
            config(data, tmp_path / "out", arms=["lexicon", "no-learning"], stream_limit=0),
            settings(),
            open_model=pool.get,
        )
    assert list(results.arms) == ["lexicon", "no-learning"]
    compared = {(i.a, i.b) for i in results.intervals}
    assert ("no-learning", "lexicon") in compared
    assert not any("learning" in (i.a, i.b) for i in results.intervals)


async def test_a_foreign_work_directory_is_not_deleted(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    (tmp_path / "out" / "work").mkdir(parents=True)
    (tmp_path / "out" / "work" / "mine.txt").write_text("keep")
    async with pool_with(scripted_models()) as pool:
        with pytest.raises(InputError, match="is not a benchmark workspace"):
            await run_extraction(config(data, tmp_path / "out"), settings(), open_model=pool.get)
    assert (tmp_path / "out" / "work" / "mine.txt").read_text() == "keep"


def test_the_cli_runs_the_benchmark_on_scripted_models(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        bench_app,
        [
            "extraction",
            "--data", str(data),
            "--out", str(out),
            "--stream-limit", "4",
            "--eval-limit", "0",
            "--checkpoint-every", "2",
            "-g", "scripted:echo",
            "-g", "scripted:echo",
            "--supervisor", "scripted:echo",
            "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Arms on the evaluation set" in result.output
    results = BenchResults.model_validate_json((out / "results.json").read_text())
    assert [c.after for c in results.checkpoints] == [0, 2, 4]
    assert "learned values live" in (out / "report.md").read_text()
    assert results.settings["evaluator"] is None
    assert results.config.eval_limit is None


def test_the_cli_prints_results_json_with_json(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        bench_app,
        [
            "extraction", "--data", str(data), "--out", str(out), "--stream-limit", "2",
            "--eval-limit", "0", "--checkpoint-every", "2", "--arms", "lexicon,learning",
            "-g", "scripted:echo", "--supervisor", "scripted:echo", "--quiet", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Arms on the evaluation set" not in result.stdout
    printed = BenchResults.model_validate_json(result.stdout)
    assert printed == BenchResults.model_validate_json((out / "results.json").read_text())
    assert list(printed.arms) == ["lexicon", "learning"]


def test_the_cli_names_an_unknown_arm(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench_app, ["extraction", "--data", str(tmp_path), "--arms", "single,magic"]
    )
    assert result.exit_code == 2
    assert "unknown arm 'magic'" in result.output


async def test_the_human_review_arm_answers_review_items_from_stream_labels(
    tmp_path: Path,
) -> None:
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    arms = ["lexicon", "no-learning", "learning", "human-review"]
    async with pool_with(scripted_models()) as pool:
        results = await run_extraction(
            config(data, out, arms=arms, review_budget=3), settings(), open_model=pool.get
        )
    assert list(results.arms) == arms
    # What the stream taught is judged by the stream's labels at each checkpoint.
    assert results.checkpoints[0].learned.active.judged == 0
    last = results.checkpoints[-1].learned
    assert last.active.judged + last.proposed.judged > 0
    assert [c.after for c in results.review_checkpoints] == [4, 8]
    assert results.arms["human-review"].scores == results.review_checkpoints[-1].system
    reviews = results.reviews
    assert reviews is not None and 0 < reviews.answered <= 3
    assert sum(reviews.by_reason.values()) == reviews.answered
    assert reviews.taught_active + reviews.taught_held + reviews.confirmed > 0
    # The reviewers' database is its own: the learning arm's knowledge base never sees them.
    knowledge = json.loads((out / "knowledge.json").read_text())
    assert all(e["actor"] != "simulated-reviewer" for e in knowledge["history"])
    pairs = {(i.a, i.b) for i in results.intervals}
    assert ("human-review", "no-learning") in pairs and ("human-review", "learning") in pairs
    assert (out / "predictions" / "human-review-after-0008.jsonl").exists()
    assert "human-review" in (out / "report.md").read_text()
