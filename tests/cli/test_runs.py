"""``dissensus runs list|show``: one read model, the same numbers as the dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.cli import app
from dissensus.pipeline import RunSummary
from dissensus.pipeline.runs import get_run, list_runs
from dissensus.storage import Database, Run, RunProduct
from dissensus.storage.tables import ModelCall


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return tmp_path


def _seed(db: Database) -> None:
    done = RunSummary(
        run_id="done", products=4, errors=1, supervisor_calls=2, learnings_added=3,
        wall_seconds=185.2,
    )  # fmt: skip
    with db.write() as session:
        for run_id, summary in (("done", done), ("going", None)):
            session.add(
                Run(
                    id=run_id, status="completed" if summary else "running", input_path="in.jsonl",
                    input_sha256="0", schema_path="s.yaml", schema_sha256="0", config={},
                    summary=summary.model_dump(mode="json") if summary else None, finished_at=None,
                )
            )  # fmt: skip
        session.flush()
        for seq, disputed in enumerate([1, 0, 0]):
            session.add(
                RunProduct(
                    run_id="going", seq=seq, product_id=f"p{seq}", category="Home > Knives",
                    output={"id": f"p{seq}", "attributes": {}}, disputed_attributes=disputed,
                    supervisor_called=bool(disputed),
                )
            )  # fmt: skip
            session.add(
                ModelCall(run_id="going", product_id=f"p{seq}", seq=seq, stage="generator-a",
                          model="local:x", requests=1, input_tokens=10, output_tokens=2)
            )  # fmt: skip


def test_runs_list_and_show_print_the_read_model_as_json(home: Path) -> None:
    db = Database.open(None, home=home)
    _seed(db)
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    lines = [json.loads(line) for line in listed.output.splitlines()]
    assert [line["run_id"] for line in lines] == [r.run_id for r in list_runs(db)]
    going = next(line for line in lines if line["run_id"] == "going")
    # Still running: the numbers so far, folded from its rows and calls.
    assert (going["final"], going["summary"]["products"]) == (False, 3)
    assert going["summary"]["supervisor_calls"] == 1 and going["summary"]["model_requests"] == 3
    shown = runner.invoke(app, ["runs", "show", "done", "--json"])
    assert json.loads(shown.output) == json.loads(get_run(db, "done").model_dump_json())
    assert json.loads(shown.output)["summary"]["errors"] == 1

    table = runner.invoke(app, ["runs", "list"])
    assert table.exit_code == 0 and "going" in table.output and "done" in table.output
    text = runner.invoke(app, ["runs", "show", "going"])
    assert "so far: the run has not finished" in " ".join(text.output.split())
    assert "learnings added" not in text.output  # not known before the run's own summary
    finished = runner.invoke(app, ["runs", "show", "done"])
    assert "3 learnings added; 3m05s of wall time" in " ".join(finished.output.split())
    missing = runner.invoke(app, ["runs", "show", "nope"])
    assert missing.exit_code == 1 and "no run 'nope'" in missing.output


def test_the_dashboard_series_reads_the_same_runs(home: Path) -> None:
    from dissensus.web._reports import run_series

    db = Database.open(None, home=home)
    _seed(db)
    runs = {r.run_id: r for r in list_runs(db)}
    for point in run_series(db):
        assert point.products == runs[point.run_id].summary.products
        assert point.supervisor_calls == runs[point.run_id].summary.supervisor_calls


def test_a_runs_cost_comes_from_its_calls_at_list_prices(home: Path) -> None:
    db = Database.open(None, home=home)
    _seed(db)
    with db.write() as session:
        session.add(
            ModelCall(run_id="going", product_id="p0", seq=0, stage="supervisor",
                      model="openai:gpt-4o-mini", requests=1, input_tokens=1_000_000,
                      output_tokens=0)
        )  # fmt: skip
    going = get_run(db, "going")
    assert going.cost_usd == pytest.approx(
        0.15
    )  # gpt-4o-mini input at $0.15 per million; local calls free
    assert going.cost_per_product == pytest.approx(0.05)
