"""The self-learning loop on the real embedded models (marked ``embedded``: a minute or two).

Gemma 3 270M generates, the lexicon worker knows the verified catalog's brands, and Qwen2.5-Coder
1.5B supervises. Product 1's brand is new, so the lexicon's silence disputes Gemma's answer; the
supervisor settles it, the value passes the gate against the verified products and becomes
active; product 2 of the same brand is then settled by consensus with that learning behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dissensus.config import Settings
from dissensus.knowledge import KnowledgeBase
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

pytestmark = [pytest.mark.embedded, pytest.mark.anyio]

SCHEMA = """
categories:
  - path: Clothing > Shoes
    attributes:
      - {name: Brand, description: "The maker as written in the title"}
      - {name: Color, description: "The color as written"}
"""

VERIFIED = [
    {
        "id": "v1",
        "title": "Stacy Adams Men's Raynor Oxford, Cognac, 9 M US",
        "category": "Clothing > Shoes",
        "attributes": {"Brand": "Stacy Adams", "Color": "Cognac"},
    },
    {
        "id": "v2",
        "title": "Nunn Bush Men's Baker Street Wingtip, Black, 11 US",
        "category": "Clothing > Shoes",
        "attributes": {"Brand": "Nunn Bush", "Color": "Black"},
    },
]

PRODUCTS = [
    {
        "id": "s1",
        "title": "Florsheim Men's Milano Slip-On Loafer, Burgundy, 10 D US",
        "category": "Clothing > Shoes",
    },
    {
        "id": "s2",
        "title": "Florsheim Men's Kenmore Wingtip Oxford, Brown, 9 D US",
        "category": "Clothing > Shoes",
    },
]


async def test_a_value_settled_on_product_1_settles_product_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    catalog = tmp_path / "products.jsonl"
    catalog.write_text("".join(json.dumps(p) + "\n" for p in PRODUCTS))
    verified = tmp_path / "verified.jsonl"
    verified.write_text("".join(json.dumps(v) + "\n" for v in VERIFIED))
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    settings = Settings(batch_size=1, concurrency=1, home=tmp_path / "home")
    assert settings.supervisor == "local:qwen2.5-coder-1.5b"  # the embedded default
    db = Database.open(home=settings.home)
    async with ModelPool() as pool:
        runner = Runner(settings, db=db, open_model=pool.get)
        summary = await runner.run(
            RunRequest(
                input_path=catalog,
                schema_path=schema,
                out_path=tmp_path / "out.jsonl",
                run_id="it-1",
                verified_path=verified,
            )
        )
    first, second = (json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines())
    # Product 1's brand is not among the verified ones: disputed, settled by the supervisor.
    assert first["attributes"]["Brand"] == {
        "value": "Florsheim",
        "status": "supervisor",
        "confidence": 0.6,
        "learnings": [],
    }
    kb = KnowledgeBase(db)
    (value,) = [
        lr for lr in kb.list() if lr.kind == "value" and lr.values == {"Brand": "Florsheim"}
    ]
    assert (value.status, value.sources) == ("active", ["it-1:s1"])
    # Product 2: the lexicon now reads Florsheim. Whether Gemma agrees (consensus) or reads
    # another word (then the lexicon's vote disputes it), the value is Florsheim and the record
    # names the learning behind it.
    brand = second["attributes"]["Brand"]
    assert brand["value"] == "Florsheim" and brand["status"] in ("consensus", "supervisor")
    assert value.id in brand["learnings"]
    assert summary.impact is not None
    assert set(second["models"]) >= {"local:gemma3-270m", "lexicon"}
