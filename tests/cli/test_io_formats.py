"""``dissensus run`` reads standard input and Parquet, and writes standard output and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.cli import app

ECHO = ["-g", "scripted:echo", "-g", "scripted:echo", "--evaluator", "none",
        "--supervisor", "scripted:echo"]  # fmt: skip
SCHEMA = "categories:\n  - path: Home > Knives\n    attributes:\n      - {name: Brand}\n"
PRODUCTS = [
    {"id": "k1", "title": "Kaito Chef Knife", "category": "Home > Knives"},
    {"id": "k2", "title": "Nakano Santoku", "category": "Home > Knives"},
]


@pytest.fixture
def schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    path = tmp_path / "schema.yaml"
    path.write_text(SCHEMA, encoding="utf-8")
    return path


def test_stdin_to_stdout_carries_records_on_stdout_and_the_summary_on_stderr(
    schema: Path, tmp_path: Path
) -> None:
    lines = "".join(json.dumps(p) + "\n" for p in PRODUCTS)
    result = CliRunner().invoke(
        app, ["run", "-", "-s", str(schema), "-o", "-", "--run-id", "s1", "-q", *ECHO],
        input=lines,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["k1", "k2"]
    assert "run s1" in result.stderr and "2 products" in result.stderr
    # The input was kept, so the run can be resumed and reviewed like any other.
    assert (tmp_path / "home" / "inputs" / "s1.jsonl").read_text() == lines
    again = CliRunner().invoke(
        app, ["run", "-", "-s", str(schema), "-o", "-", "--run-id", "s1", "-q", *ECHO],
        input=lines,
    )  # fmt: skip
    assert again.exit_code == 0 and "(resumed)" in again.stderr


def test_parquet_in_and_out(schema: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    source = tmp_path / "products.parquet"
    pq.write_table(pa.Table.from_pylist(PRODUCTS), source)
    out = tmp_path / "enriched.parquet"
    result = CliRunner().invoke(
        app, ["run", str(source), "-s", str(schema), "-o", str(out), "--run-id", "p1", "-q", *ECHO]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out).to_pylist()
    assert [row["id"] for row in table] == ["k1", "k2"]
    assert {"Brand", "Brand.status", "attributes_json", "models"} <= set(table[0])
    assert json.loads(table[0]["attributes_json"])["Brand"]["status"] == table[0]["Brand.status"]
    assert "2 rows" in result.stdout


def test_a_file_that_is_not_parquet_is_one_clear_error(schema: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(bad), "-s", str(schema), "-o", "x.jsonl", *ECHO])
    assert result.exit_code == 1
    assert "is not a readable Parquet file" in result.output


def test_json_puts_the_run_summary_alone_on_stdout(schema: Path, tmp_path: Path) -> None:
    source = tmp_path / "products.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in PRODUCTS), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["run", str(source), "-s", str(schema), "-o", str(out), "--run-id", "j1", "-q", *ECHO]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["run_id"], summary["products"], summary["errors"]) == ("j1", 2, 0)
    assert "output:" in result.stderr and len(out.read_text().splitlines()) == 2
    # The same numbers `runs show --json` reads back from the database.
    shown = CliRunner().invoke(app, ["runs", "show", "j1", "--json"])
    assert json.loads(shown.stdout)["summary"]["products"] == 2
    # Records and a summary cannot share standard output.
    both = CliRunner().invoke(app, [*args[:5], "-", "--json", *ECHO])
    assert both.exit_code == 2 and "--out -" in both.output
