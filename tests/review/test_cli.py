"""``dissensus review``: every subcommand on a seeded queue (SQLite in a scratch home)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dissensus.cli.review import review_app
from dissensus.knowledge import KnowledgeBase
from dissensus.review import ReviewQueue
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

from .conftest import seed

runner = CliRunner()


@pytest.fixture
def cli_db(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setenv("COLUMNS", "200")  # rich sizes tables from the terminal otherwise
    monkeypatch.setenv("USER", "ann")
    with scratch_database(home) as database:
        yield database


def invoke(*args: str) -> Result:
    return runner.invoke(review_app, list(args), catch_exceptions=False)


def test_list_shows_open_items_in_claim_order_and_as_json(cli_db: Database) -> None:
    assert "No open review items." in invoke("list").output
    seed(cli_db, 2, reasons=["audit", "needs_human"])
    result = invoke("list")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "r1#" in line]
    assert ["needs_human" in lines[0], "audit" in lines[1]] == [True, True]
    assert "2 open, 0 claimed" in result.output
    items = [
        json.loads(line)
        for line in invoke("list", "--json", "--reason", "audit").output.splitlines()
    ]
    assert [(i["product_id"], i["state"]) for i in items] == [("k0", "open")]
    assert invoke("list", "--json", "--state", "done").output == ""
    # The desk's filters: text in the product id, and a category subtree.
    found = [json.loads(x) for x in invoke("list", "--json", "-q", "k1").output.splitlines()]
    assert [i["product_id"] for i in found] == ["k1"]
    assert invoke("list", "--json", "--category", "Garden").output == ""
    # A cut list says so; a mistyped run is an error, not "no items".
    cut = runner.invoke(review_app, ["list", "-n", "1"])
    assert cut.exit_code == 0 and "the first 1 items; more: -n 2" in cut.stderr
    assert "the first" not in runner.invoke(review_app, ["list", "-n", "2"]).stderr
    assert len(invoke("list", "--json", "--run", "r1").output.splitlines()) == 2
    wrong = runner.invoke(review_app, ["list", "--run", "r-nope"])
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == ("error: no run 'r-nope'; list runs with `dissensus runs list`")


def test_next_claims_for_the_user_and_shows_the_item(cli_db: Database) -> None:
    (item_id,) = seed(cli_db, 1)
    result = invoke("next")
    assert result.exit_code == 0
    assert f"Review item {item_id} [claimed, claimed by ann until" in result.output
    assert "generator-b (scripted:gen-b)" in result.output
    assert "Acme Chef" in result.output
    assert "why the workers failed: the model name follows the brand" in result.output
    assert "Knife type allowed: Chef, Paring" in result.output
    assert f"dissensus review submit {item_id} --set 'Brand=...'" in result.output
    assert ReviewQueue(cli_db).get(item_id).claimed_by == "ann"
    assert "The review queue is empty." in invoke("next", "--reviewer", "bob").output


def test_show_prints_one_item_and_refuses_unknown_ids(cli_db: Database) -> None:
    (item_id,) = seed(cli_db, 1)
    shown = invoke("show", str(item_id), "--json")
    detail = json.loads(shown.output)
    assert (detail["id"], detail["state"], detail["context"]["product"]["id"]) == (
        item_id,
        "open",
        "k0",
    )
    missing = runner.invoke(review_app, ["show", "99"])
    assert missing.exit_code == 1
    assert "review item 99 does not exist" in missing.output


def test_submit_sets_values_places_a_proposed_learning_and_rewrites_the_output(
    cli_db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "enriched.jsonl"
    (item_id,) = seed(cli_db, 1, output_path=out)
    result = invoke(
        "submit",
        str(item_id),
        "--set",
        "Brand=Acme",
        "--set",
        "Knife type=paring",
        "--learning",
        "The brand is the first word of the title.",
        "--model",
        "scripted:echo",
    )
    assert result.exit_code == 0, result.output
    assert "now has Brand=Acme, Knife type=Paring [human]" in result.output
    assert "changed: Brand, Knife type" in result.output
    assert "(proposed) at /home/knives" in result.output
    assert f"Rewrote {out} (1 records)" in result.output
    line = json.loads(out.read_text())
    assert line["attributes"]["Brand"]["status"] == "human"
    (learning,) = KnowledgeBase(cli_db).list(kind="rule")
    assert (learning.status, learning.sources) == ("proposed", ["r1:k0"])
    # The answer itself teaches: the values and the solved product, attributed to the reviewer.
    taught = KnowledgeBase(cli_db).list(kind="value") + KnowledgeBase(cli_db).list(kind="example")
    assert {lr.kind for lr in taught} == {"value", "example"}
    assert "Taught: " in result.output
    again = runner.invoke(review_app, ["submit", str(item_id), "--set", "Brand=Acme"])
    assert again.exit_code == 1 and "already submitted by ann" in again.output


def test_submit_refuses_malformed_values_and_other_reviewers_claims(cli_db: Database) -> None:
    first, second = seed(cli_db, 2)
    bad = runner.invoke(review_app, ["submit", str(first), "--set", "Brand"])
    assert bad.exit_code == 2 and "must be NAME=VALUE" in bad.output
    invoke("next", "--reviewer", "bob")
    taken = runner.invoke(review_app, ["submit", str(first), "--set", "Brand=Acme"])
    assert taken.exit_code == 1 and "claimed by bob" in taken.output
    # No output file recorded: the values are stored and the command says how to write one.
    blank = ["submit", str(second), "--set", "Brand=", "--set", "Knife type="]
    refused = runner.invoke(review_app, blank)
    assert refused.exit_code == 1 and "--all-absent" in refused.output
    done = invoke(*blank, "--all-absent", "--no-write-output")
    assert done.exit_code == 0 and "Brand=(absent)" in done.output
    told = invoke("submit", str(first), "--set", "Brand=Acme", "--reviewer", "bob")
    assert "dissensus review export r1 --out FILE" in told.output


def test_release_returns_an_item_to_the_queue(cli_db: Database) -> None:
    (item_id,) = seed(cli_db, 1)
    invoke("next")
    assert f"Item {item_id} is back in the queue." in invoke("release", str(item_id)).output
    refused = runner.invoke(review_app, ["release", str(item_id)])
    assert refused.exit_code == 1 and "not claimed by 'ann'" in refused.output


def test_export_writes_the_runs_stored_records(cli_db: Database, tmp_path: Path) -> None:
    seed(cli_db, 3)
    target = tmp_path / "export.jsonl"
    result = invoke("export", "r1", "--out", str(target))
    assert f"Wrote 3 records to {target}." in result.output
    assert [json.loads(x)["id"] for x in target.read_text().splitlines()] == ["k0", "k1", "k2"]
    no_path = runner.invoke(review_app, ["export", "r1"])
    assert no_path.exit_code == 1 and "no recorded output file" in no_path.output
