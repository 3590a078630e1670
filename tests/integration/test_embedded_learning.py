"""The self-learning loop on the real embedded models (marked ``embedded``: about a minute).

Gemma 3 270M and SmolLM2-135M as the two generators disagree on real listings; the supervisor
(Gemma, evidence gathered up front) resolves product 1 and drafts a learning that the memory
manager (Gemma) places in the tree; product 2 of the same category must then get that learning
in its workers' prompts and list its id in its output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dissensus.config import GeneratorConfig, Settings
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

PRODUCTS = [
    {
        "id": "s1",
        "title": "Florsheim Men's Milano Slip-On Loafer, Burgundy, 10 D US",
        "category": "Clothing > Shoes",
    },
    {
        "id": "s2",
        "title": "Stacy Adams Men's Raynor Oxford, Cognac, 9 M US",
        "category": "Clothing > Shoes",
    },
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_disagreement_on_product_1_becomes_a_learning_used_for_product_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    catalog = tmp_path / "products.jsonl"
    catalog.write_text("".join(json.dumps(p) + "\n" for p in PRODUCTS))
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    settings = Settings(
        generators=[
            GeneratorConfig(model="local:gemma3-270m", style="direct"),
            GeneratorConfig(model="local:smollm2-135m", style="evidence"),
        ],
        evaluator=None,
        batch_size=1,
        concurrency=1,
        home=tmp_path / "home",
    )
    db = Database.open(home=settings.home)
    async with ModelPool() as pool:
        runner = Runner(settings, db=db, open_model=pool.get)
        summary = await runner.run(
            RunRequest(
                input_path=catalog,
                schema_path=schema,
                out_path=tmp_path / "out.jsonl",
                run_id="it-1",
            )
        )
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    # Product 1 was disputed, resolved by the supervisor, and taught the knowledge base.
    assert summary.by_category["Clothing > Shoes"].disputed_products >= 1
    assert any(a["status"] != "consensus" for a in first["attributes"].values())
    assert all(a["learnings"] == [] for a in first["attributes"].values())
    learnings = KnowledgeBase(db).list(status="active")
    assert learnings, "the supervisor's resolution of product 1 produced no learning"
    learned = {item.id for item in learnings if "it-1:s1" in item.sources}
    assert learned, "no learning came from product 1's case"
    # Product 2 ran with that learning in its prompt and says so in its output.
    used = {lid for a in second["attributes"].values() for lid in a["learnings"]}
    assert used and used <= learned
    assert set(second["models"]) >= {"local:gemma3-270m", "local:smollm2-135m"}
