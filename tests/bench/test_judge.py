"""``dissensus bench judge``: hand labels against a run's output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dissensus.bench.judge import judge, same_value
from dissensus.cli.bench import bench_app


def test_values_match_ignoring_case_spacing_and_punctuation() -> None:
    assert same_value("8 inch", ["8 Inch"])
    assert same_value("Chef", ["Chef Knife", "Chef"])
    assert same_value("Aogami Blue #2", ["Aogami Blue #2 Steel", "Aogami Blue #2"])
    assert not same_value("Aogami Blue 2", ["Aogami Blue #2"])
    assert not same_value(None, ["Black"]) and same_value(None, [None])
    assert not same_value("Black", [None])


def test_every_labelled_attribute_counts_and_a_missing_record_is_wrong(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text(
        json.dumps(
            {"id": "a", "attributes": {"Brand": {"value": "norrvik"}, "Size": {"value": None}}}
        )
        + "\n"
        + json.dumps({"id": "b", "attributes": {}, "error": "bad record"})
        + "\n"
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"id": "a", "attributes": {"Brand": ["Norrvik"], "Size": ["8 Inch"]}})
        + "\n"
        + json.dumps({"id": "b", "attributes": {"Brand": ["Kova"]}})
        + "\n"
    )
    result = judge(output, labels)
    assert (result.right, result.slots, result.records) == (1, 3, 2)
    assert result.missing_records == ["b"]
    assert result.by_attribute == {"Brand": (1, 2), "Size": (0, 1)}
    cli = CliRunner().invoke(bench_app, ["judge", str(output), str(labels), "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["accuracy"] == 1 / 3
