"""Fixtures for signal tests: a database holding one finished run with published results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dissensus.storage import Database, Run, RunProduct
from dissensus.storage.testing import scratch_database

PRODUCTS = [
    {"id": f"k{i}", "title": f"Kaito Hoshi {i} 8in Chef Knife", "category": "Home > Knives"}
    for i in range(1, 5)
]
SCHEMA = """categories:
  - path: Home > Knives
    attributes:
      - {name: Brand, description: "The maker as written"}
      - {name: Blade length}
"""


def output(
    pid: str, brand: str = "Kaito Hoshi", *, status: str = "supervisor", conf: float = 0.6
) -> dict[str, Any]:
    """A published output line: Brand as given, Blade length 8in by consensus."""
    return {
        "id": pid,
        "category": "Home > Knives",
        "attributes": {
            "Brand": {"value": brand, "status": status, "confidence": conf, "learnings": []},
            "Blade length": {
                "value": "8in",
                "status": "consensus",
                "confidence": 0.9,
                "learnings": [],
            },
        },
        "models": [],
        "error": None,
    }


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A database with run ``r1`` over four knives, each published with Brand ``Kaito``."""
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(p) + "\n" for p in PRODUCTS))
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    with scratch_database(tmp_path / "home") as database:
        with database.write() as session:
            session.add(
                Run(
                    id="r1",
                    status="completed",
                    input_path=str(catalog),
                    input_sha256="0" * 64,
                    schema_path=str(schema),
                    schema_sha256="0" * 64,
                    config={},
                    summary=None,
                    finished_at=None,
                )
            )
            for seq, p in enumerate(PRODUCTS):
                session.add(
                    RunProduct(
                        run_id="r1",
                        seq=seq,
                        product_id=p["id"],
                        category=p["category"],
                        output=output(p["id"]),
                    )
                )
        yield database


def write_signals(path: Path, signals: list[dict[str, Any]]) -> Path:
    """Write signals as JSONL and return the path."""
    path.write_text("".join(json.dumps(s) + "\n" for s in signals))
    return path
