"""The labelled-data loader and the data plan (schema, verified catalog, stream, eval set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dissensus.bench.loader import GoldLabels, default_data_dir, load_split
from dissensus.bench.splits import plan_data, write_inputs
from dissensus.errors import InputError

from ._extraction_data import TEST, TRAIN, VERIFIED, write_dataset, write_jsonl


def test_input_or_title_and_description_with_optional_id(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"input": " Nike Air ", "category": "Shoes", "target_scores": {"Brand": {"Nike": 1}}},
            {
                "id": "p-7",
                "title": "Lipton Green",
                "description": "100 bags",
                "category": "Tea",
                "target_scores": {},
            },
            {"id": 42, "input": "Puma", "category": "Shoes"},
        ],
    )
    first, second, third = load_split(path)
    assert first.product.model_dump() == {
        "id": "test-00001",
        "title": "Nike Air",
        "description": None,
        "category": "Shoes",
    }
    assert second.product.as_input() == {
        "id": "p-7",
        "title": "Lipton Green",
        "description": "100 bags",
        "category": "Tea",
    }
    assert third.product.id == "42"
    assert third.gold.values == {}


def test_several_gold_values_and_na_are_kept_as_written(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [
            {
                "input": "Reebok Club C White",
                "category": "Shoes",
                "target_scores": {
                    "Color": {"White": 1, "white ": 1},
                    "Width": {"n/a": 1},
                    "Brand": {" Reebok ": 1},
                },
            }
        ],
    )
    (record,) = load_split(path)
    assert record.gold == GoldLabels(
        category="Shoes",
        values={"Color": ("White", "white "), "Width": ("n/a",), "Brand": (" Reebok ",)},
    )
    assert record.gold.first_present("Width") is None
    assert record.gold.first_present("Brand") == "Reebok"
    assert record.gold.first_present("Gender") is None
    # The visible part never carries a label.
    assert "target_scores" not in record.product.as_input()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"x\.jsonl line 1: not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"category": "Shoes"}', "needs the product text as 'input' or 'title'"),
        ('{"input": "Nike"}', "needs a 'category' string"),
        ('{"input": "Nike", "category": "Shoes", "target_scores": []}', "must be an object"),
        (
            '{"input": "Nike", "category": "Shoes", "target_scores": {"Brand": 1}}',
            r"target_scores\['Brand'\] must map values to scores",
        ),
        (
            '{"input": "Nike", "category": "Shoes", "target_scores": {"Brand": {}}}',
            "needs at least one string value",
        ),
    ],
)
def test_a_bad_record_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_split(path)


def test_a_missing_file_says_how_to_point_at_the_data(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist; pass --data DIR"):
        load_split(tmp_path / "test.jsonl")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    record = {"id": "a", "input": "Nike", "category": "Shoes"}
    path = write_jsonl(tmp_path / "x.jsonl", [record, record])
    with pytest.raises(InputError, match="id 'a' appears more than once"):
        load_split(path)


def test_default_data_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISSENSUS_BENCH_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path


def test_the_plan_takes_the_schema_from_train_labels_only(tmp_path: Path) -> None:
    plan = plan_data(write_dataset(tmp_path), seed=1, stream_limit=None, eval_limit=None)
    # Most frequent first; "Width" appears only in the test labels, so it is not asked for.
    assert plan.schema == {
        "Shoes": ["Brand", "Color", "Gender"],
        "Tea": ["Brand", "Tea variety", "Pack size"],
    }
    schema = yaml.safe_load(plan.write_schema(tmp_path / "schema.yaml").read_text())
    assert [c["path"] for c in schema["categories"]] == ["Shoes", "Tea"]
    # Names only: the data gives no definitions, and a made-up one costs prompt tokens.
    assert schema["categories"][0]["attributes"] == [
        {"name": "Brand"},
        {"name": "Color"},
        {"name": "Gender"},
    ]
    assert [f.role for f in plan.files] == ["train", "verified", "test"]
    assert all(len(f.sha256) == 64 for f in plan.files)


def test_the_stream_is_train_without_the_verified_split_in_a_seeded_order(tmp_path: Path) -> None:
    data = write_dataset(tmp_path)
    plan = plan_data(data, seed=1, stream_limit=None, eval_limit=None)
    titles = [r.product.title for r in plan.stream]
    verified_titles = {r["input"] for r in VERIFIED}
    assert sorted(titles) == sorted(r["input"] for r in TRAIN if r["input"] not in verified_titles)
    again = plan_data(data, seed=1, stream_limit=3, eval_limit=None)
    assert [r.product.title for r in again.stream] == titles[:3]
    other = plan_data(data, seed=2, stream_limit=None, eval_limit=None)
    assert [r.product.title for r in other.stream] != titles


def test_the_eval_subset_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    data = write_dataset(tmp_path)
    plan = plan_data(data, seed=5, stream_limit=None, eval_limit=2)
    positions = [[r["input"] for r in TEST].index(r.product.title) for r in plan.evaluation]
    assert len(positions) == 2 and positions == sorted(positions)
    again = plan_data(data, seed=5, stream_limit=None, eval_limit=2)
    assert again.evaluation == plan.evaluation
    assert len(plan_data(data, seed=5, stream_limit=None, eval_limit=99).evaluation) == 4


def test_run_inputs_hold_text_only_and_the_verified_catalog_holds_train_02_values(
    tmp_path: Path,
) -> None:
    plan = plan_data(write_dataset(tmp_path), seed=1, stream_limit=None, eval_limit=None)
    inputs = write_inputs(plan.evaluation, tmp_path / "eval.jsonl").read_text().splitlines()
    assert [set(json.loads(line)) for line in inputs] == [{"id", "title", "category"}] * 4
    verified = [
        json.loads(line)
        for line in plan.write_verified(tmp_path / "verified.jsonl").read_text().splitlines()
    ]
    assert verified[0]["attributes"] == {"Brand": "Nike", "Color": "Black", "Gender": "Men's"}
    # Schema attributes the verified record does not list are absent from its title.
    assert verified[1]["attributes"] == {
        "Brand": "Bigelow",
        "Tea variety": "Chamomile",
        "Pack size": None,
    }


def test_a_test_category_without_train_labels_is_an_input_error(tmp_path: Path) -> None:
    data = write_dataset(tmp_path)
    write_jsonl(data / "test.jsonl", [{"input": "Oral-B Pro", "category": "Toothbrush"}])
    with pytest.raises(InputError, match=r"categories \['Toothbrush'\] have no labelled train"):
        plan_data(data, seed=1, stream_limit=None, eval_limit=None)
