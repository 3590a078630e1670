"""``dissensus run --rerun affected --from-run RUN`` end to end on scripted models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dissensus.cli import app

ECHO = ["-g", "scripted:echo", "-g", "scripted:echo", "--evaluator", "none"]
ECHO += ["--supervisor", "scripted:echo"]
SCHEMA = """\
categories:
  - path: Home
    attributes:
      - {name: Brand, description: The maker as written}
  - path: Home > Knives
    attributes:
      - {name: Knife type, values: [Chef, Paring]}
  - path: Garden
    attributes:
      - {name: Brand}
"""
PRODUCTS = [
    {"id": "k1", "title": "Acme Chef Knife 8in", "category": "Home > Knives"},
    {"id": "g1", "title": "Verde Trowel", "category": "Garden"},
    {"id": "k2", "title": "Zeta Paring Knife", "category": "Home > Knives"},
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def past_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run r1 over two knives and a trowel, in a private home."""
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(p) + "\n" for p in PRODUCTS))
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    out = tmp_path / "out" / "r1.jsonl"
    result = invoke(
        "run", str(catalog), "--schema", str(schema), "--out", str(out), "--run-id", "r1", "-q",
        *ECHO,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp_path


def test_rerun_affected_reruns_the_subtree_of_a_new_learning_and_writes_the_changes(
    past_run: Path,
) -> None:
    added = invoke(
        "kb", "add", "Home > Knives", "The brand is the first word of the title.", "--actor", "ann"
    )
    assert added.exit_code == 0, added.output
    result = invoke("run", "--rerun", "affected", "--from-run", "r1", "--run-id", "r2", "-q", *ECHO)
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    # The echo workers ignore learnings: the knives ran again, nothing changed.
    assert "rerun r2 of r1: 2 products affected, 0 changed, 0 attributes changed" in text
    out = past_run / "out" / "r2.jsonl"  # the past run's folder, named after the rerun
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["k1", "k2"]
    changes = json.loads((past_run / "out" / "r2.changes.json").read_text())
    assert [p["product_id"] for p in changes["products"]] == ["k1", "k2"]
    assert (changes["past_run_id"], changes["changed_products"]) == ("r1", 0)


def test_rerun_with_nothing_new_starts_no_run(past_run: Path) -> None:
    result = invoke("run", "--rerun", "affected", "--from-run", "r1", "--run-id", "r2", *ECHO)
    assert result.exit_code == 0, result.output
    assert "nothing to rerun" in flat(result.stdout)
    assert not (past_run / "out" / "r2.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rerun", "affected"], "needs --from-run"),
        (["--from-run", "r1"], "only goes with --rerun"),
        ([], "give INPUT_PATH, --schema and --out"),
        (["--rerun", "affected", "--from-run", "nope"], "no run 'nope'"),
        (["--rerun", "affected", "--from-run", "r1", "--engine", "ray"], "drop --engine ray"),
    ],
)
def test_run_option_mistakes_are_named(past_run: Path, args: list[str], message: str) -> None:
    result = invoke("run", *args, *ECHO)
    # Options that do not go together are usage errors (2); a run that does not exist is not.
    assert result.exit_code == (1 if "nope" in args else 2)
    assert message in flat(result.output)
