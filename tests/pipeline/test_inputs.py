import json
from pathlib import Path

import pytest

from dissensus.errors import InputError
from dissensus.pipeline.inputs import count_records, file_sha256, read_records


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_bad_records_become_errors_and_the_rest_continue(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": "a", "title": "Acme Knife", "category": "Home > Knives"}),
            "{not json",
            json.dumps({"id": "b", "title": "", "category": "Home"}),
            "",
            json.dumps({"id": 7, "title": "Numbered", "category": "Home", "seller": "x"}),
        ],
    )
    records = list(read_records(path))
    assert [r.seq for r in records] == [0, 1, 2, 3]
    assert records[0].product is not None and records[0].product.path.key == "/home/knives"
    assert records[1].product is None and "line 2: not valid JSON" in (records[1].error or "")
    assert records[2].product is None and records[2].raw_id == "b"
    assert "'title' must be a non-empty string" in (records[2].error or "")
    assert records[3].product is not None and records[3].product.id == "7"
    assert records[3].product.extra == {"seller": "x"}
    assert count_records(path) == 4


def test_csv_with_same_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,title,description,category\np1,Acme Pan 12in,,Home > Kitchen\n", encoding="utf-8"
    )
    (record,) = list(read_records(path))
    assert record.product is not None
    assert record.product.description is None
    assert record.product.category == "Home > Kitchen"


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown format '\.txt'"):
        list(read_records(write(tmp_path / "x.txt", ["a"])))
    with pytest.raises(InputError, match="does not exist"):
        list(read_records(tmp_path / "missing.jsonl"))


def test_sha256_changes_with_content(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", ["1"])
    first = file_sha256(a)
    write(a, ["2"])
    assert file_sha256(a) != first
