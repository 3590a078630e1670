import json
from pathlib import Path

import pytest

from dissensus.domain import CategoryPath
from dissensus.errors import InputError
from dissensus.supervisor import VerifiedCatalog, VerifiedProduct


def catalog() -> VerifiedCatalog:
    return VerifiedCatalog(
        [
            VerifiedProduct(
                id="v1",
                title="Acme 8 inch Chef Knife",
                category="Home > Knives",
                attributes={"Brand": "Acme"},
            ),
            VerifiedProduct(
                id="v2",
                title="Zeta Running Shoe Men's",
                category="Clothing > Shoes",
                attributes={"Brand": "Zeta"},
            ),
            VerifiedProduct(
                id="v3", title="Acme Chef Pan", category="Home > Pans", attributes={"Brand": "Acme"}
            ),
        ]
    )


def test_similar_ranks_by_rare_token_overlap_and_category() -> None:
    found = catalog().similar(
        "Bolt 6 inch Chef Knife", category=CategoryPath.parse("Home > Knives")
    )
    assert [p.id for p in found] == ["v1", "v3"]


def test_similar_returns_nothing_without_overlap() -> None:
    assert catalog().similar("zzz qqq") == []


def test_load_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "v.jsonl"
    jsonl.write_text(
        json.dumps({"id": "v", "title": "T", "category": "C", "attributes": {"Brand": None}}) + "\n"
    )
    assert VerifiedCatalog.load(jsonl).products[0].attributes == {"Brand": None}
    csv = tmp_path / "v.csv"
    csv.write_text("id,title,category,Brand,Color\nv,T,C,Acme,\n")
    assert VerifiedCatalog.load(csv).products[0].attributes == {"Brand": "Acme", "Color": None}


def test_load_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "v"}\n')
    with pytest.raises(InputError, match="line 1"):
        VerifiedCatalog.load(bad)
    with pytest.raises(InputError, match="does not exist"):
        VerifiedCatalog.load(tmp_path / "nope.jsonl")
