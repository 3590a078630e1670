"""Saved passes: a benchmark run split over several invocations (``--reuse``) gives the same
report as one invocation, resumes after an interruption, and refuses passes made on another
basis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.bench import BenchResults, run_extraction
from dissensus.bench.passes import SavedPass
from dissensus.cli.bench import bench_app
from dissensus.errors import InputError

from ._extraction_data import pool_with, scripted_models, settings, write_dataset
from .test_extraction_bench import config, home  # noqa: F401  (autouse: a private home)

pytestmark = pytest.mark.anyio

BASELINES = ["lexicon", "single", "few-shot", "no-learning", "supervisor-only"]


def _comparable(results: BenchResults) -> dict[str, object]:
    """What a split run must reproduce: every score, every interval, the stream's statistics."""
    return {
        "arms": {name: arm.scores for name, arm in results.arms.items()},
        "checkpoints": [
            (c.after, c.system, c.generator, c.supervisor) for c in results.checkpoints
        ],
        "intervals": results.intervals,
        "stream": (results.stream.products, results.stream.supervisor_calls)
        if results.stream
        else None,
        "windows": [(w.start, w.end) for w in results.windows],
    }


def _evaluations(results: BenchResults) -> list[str]:
    """The passes this run ran itself (its phases), not loaded."""
    return sorted(results.phase_seconds)


async def test_baselines_now_learning_later_equals_one_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        whole = await run_extraction(
            config(data, tmp_path / "whole"), settings(), open_model=pool.get
        )
    async with pool_with(scripted_models()) as pool:
        first = await run_extraction(
            config(data, tmp_path / "a", arms=BASELINES), settings(), open_model=pool.get
        )
    assert first.reused == []
    saved = sorted(p.stem for p in (tmp_path / "a" / "passes").glob("*.json"))
    assert saved == ["checkpoint-0000", "single", "supervisor-only"]

    models = scripted_models()
    async with pool_with(models) as pool:
        second = await run_extraction(
            config(data, tmp_path / "b", reuse=[str(tmp_path / "a")]),
            settings(),
            open_model=pool.get,
        )
    # The second invocation ran only the stream and the checkpoints after it.
    assert _evaluations(second) == ["eval @4", "eval @8", "lexicon", "stream 0-4", "stream 4-8"]
    assert [r.name for r in second.reused] == ["checkpoint-0000", "single", "supervisor-only"]
    assert all(r.run_started_at == first.started_at for r in second.reused)
    assert _comparable(second) == _comparable(whole)
    assert second.arms["few-shot"].stats == first.arms["few-shot"].stats  # loaded, not re-timed
    assert any("loaded from earlier runs" in note for note in second.notes)
    assert "loaded from earlier runs" in (tmp_path / "b" / "report.md").read_text()
    # Its output directory is complete: every prediction file, every pass.
    assert (tmp_path / "b" / "predictions" / "single.jsonl").exists()
    assert (tmp_path / "b" / "passes" / "supervisor-only.json").exists()
    assert (tmp_path / "b" / "knowledge.json").exists()
    assert "- `knowledge.json`:" in (tmp_path / "b" / "report.md").read_text()


async def test_a_run_resumes_from_its_own_out(tmp_path: Path) -> None:
    """Reusing the run's own --out after it was killed runs only what had not finished."""
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    async with pool_with(scripted_models()) as pool:
        whole = await run_extraction(config(data, out), settings(), open_model=pool.get)
    (out / "passes" / "checkpoint-0008.json").unlink()  # it was running when the run died
    (out / "passes" / "supervisor-only.json").unlink()
    async with pool_with(scripted_models()) as pool:
        resumed = await run_extraction(
            config(data, out, reuse=[str(out)]), settings(), open_model=pool.get
        )
    # The last checkpoint needs the whole stream again; the earlier checkpoints do not.
    assert _evaluations(resumed) == ["eval @8", "lexicon", "stream 0-8", "supervisor-only"]
    assert _comparable(resumed) == _comparable(whole)
    assert sorted(p.stem for p in (out / "passes").glob("*.json")) == [
        "checkpoint-0000",
        "checkpoint-0004",
        "checkpoint-0008",
        "single",
        "supervisor-only",
    ]


async def test_a_loaded_last_checkpoint_brings_its_stream_statistics(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "out"
    async with pool_with(scripted_models()) as pool:
        whole = await run_extraction(config(data, out), settings(), open_model=pool.get)
    (out / "passes" / "checkpoint-0004.json").unlink()
    async with pool_with(scripted_models()) as pool:
        again = await run_extraction(
            config(data, tmp_path / "again", reuse=[str(out)]), settings(), open_model=pool.get
        )
    assert _evaluations(again) == ["eval @4", "lexicon", "stream 0-4"]
    assert again.stream is not None and again.stream.products == 8
    assert _comparable(again) == _comparable(whole)
    assert any("this run streamed 4 products" in note for note in again.notes)
    assert not (tmp_path / "again" / "knowledge.json").exists()
    assert (
        "knowledge.json" not in (tmp_path / "again" / "report.md").read_text().split("## Files")[1]
    )  # the report lists only the files the run wrote


async def test_passes_made_on_another_basis_are_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        await run_extraction(
            config(data, tmp_path / "a", arms=["single"]), settings(), open_model=pool.get
        )
    reuse = [str(tmp_path / "a")]
    async with pool_with(scripted_models()) as pool:
        with pytest.raises(InputError, match=r"different basis \(seed differ\)"):
            await run_extraction(
                config(data, tmp_path / "b", arms=["single"], seed=4, reuse=reuse),
                settings(),
                open_model=pool.get,
            )
        other = settings().model_copy(update={"examples_per_product": 1})
        with pytest.raises(InputError, match=r"different basis \(settings differ\)"):
            await run_extraction(
                config(data, tmp_path / "c", arms=["single"], reuse=reuse),
                other,
                open_model=pool.get,
            )
    # A changed data file is another basis too.
    train = data / "train.jsonl"
    train.write_text(train.read_text() + "\n")
    async with pool_with(scripted_models()) as pool:
        with pytest.raises(InputError, match=r"\(data differ\)"):
            await run_extraction(
                config(data, tmp_path / "d", arms=["single"], reuse=reuse),
                settings(),
                open_model=pool.get,
            )


async def test_a_directory_without_passes_or_with_a_broken_one_is_a_clear_error(
    tmp_path: Path,
) -> None:
    data = write_dataset(tmp_path / "data")
    (tmp_path / "empty").mkdir()
    async with pool_with(scripted_models()) as pool:
        with pytest.raises(InputError, match="no saved passes"):
            await run_extraction(
                config(data, tmp_path / "b", reuse=[str(tmp_path / "empty")]),
                settings(),
                open_model=pool.get,
            )
        (tmp_path / "empty" / "passes").mkdir()
        (tmp_path / "empty" / "passes" / "single.json").write_text("{not json")
        with pytest.raises(InputError, match="is not a saved pass"):
            await run_extraction(
                config(data, tmp_path / "b", reuse=[str(tmp_path / "empty")]),
                settings(),
                open_model=pool.get,
            )


async def test_a_saved_pass_is_written_whole(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        results = await run_extraction(
            config(data, tmp_path / "a", arms=["single"]), settings(), open_model=pool.get
        )
    saved = SavedPass.model_validate_json((tmp_path / "a" / "passes" / "single.json").read_text())
    assert saved.arm == results.arms["single"]
    assert len(saved.predictions) == len(saved.eval_ids) == 4
    assert saved.basis["seed"] == 3 and "settings" in saved.basis
    assert not list((tmp_path / "a" / "passes").glob("*.tmp"))


def test_the_cli_reuses_an_earlier_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    common = [
        "extraction", "--data", str(data), "--stream-limit", "4", "--eval-limit", "0",
        "--checkpoint-every", "2", "-g", "scripted:echo", "-g", "scripted:echo",
        "--supervisor", "scripted:echo", "--quiet",
    ]  # fmt: skip
    first = CliRunner().invoke(
        bench_app, [*common, "--out", str(tmp_path / "a"), "--arms", "single,no-learning"]
    )
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(
        bench_app, [*common, "--out", str(tmp_path / "b"), "--reuse", str(tmp_path / "a")]
    )
    assert second.exit_code == 0, second.output
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [r["name"] for r in results["reused"]] == ["checkpoint-0000", "single"]
    wrong = CliRunner().invoke(
        bench_app,
        [*common, "--out", str(tmp_path / "c"), "--seed", "5", "--reuse", str(tmp_path / "a")],
    )
    assert wrong.exit_code != 0
    assert "different basis (seed differ)" in wrong.output


async def test_learning_first_baselines_later_equals_one_run(tmp_path: Path) -> None:
    """The other order: the stream and its checkpoints now, checkpoint 0 and the baselines in
    a later invocation that reuses them."""
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        whole = await run_extraction(
            config(data, tmp_path / "whole"), settings(), open_model=pool.get
        )
    defer = ["checkpoint-0000", "single", "supervisor-only"]
    async with pool_with(scripted_models()) as pool:
        first = await run_extraction(
            config(data, tmp_path / "a", defer=defer), settings(), open_model=pool.get
        )
    assert _evaluations(first) == ["eval @4", "eval @8", "lexicon", "stream 0-4", "stream 4-8"]
    assert [c.after for c in first.checkpoints] == [4, 8]
    # Its own report has the learning arm and no arm it left to the other invocation.
    assert list(first.arms) == ["lexicon", "learning"]
    assert not any("no-learning" in (i.a, i.b) for i in first.intervals)
    assert any("--defer" in note for note in first.notes)
    assert not any("no-learning arm's evaluation" in note for note in first.notes)
    async with pool_with(scripted_models()) as pool:
        second = await run_extraction(
            config(data, tmp_path / "b", reuse=[str(tmp_path / "a")]),
            settings(),
            open_model=pool.get,
        )
    assert _evaluations(second) == ["eval @0", "lexicon", "single", "supervisor-only"]
    assert _comparable(second) == _comparable(whole)
    assert second.stream is not None and second.stream.products == 8


async def test_deferring_a_pass_the_run_does_not_have_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    async with pool_with(scripted_models()) as pool:
        with pytest.raises(InputError, match=r"--defer checkpoint-0005: not a pass of this run"):
            await run_extraction(
                config(data, tmp_path / "a", defer=["checkpoint-0005"]),
                settings(),
                open_model=pool.get,
            )
