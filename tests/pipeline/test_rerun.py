"""``--rerun affected`` on scripted models: which products a new learning affects, what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner
from dissensus.pipeline.rerun import (
    AttributeChange,
    RerunReport,
    find_affected,
    rerun_affected,
    rerun_paths,
)
from dissensus.storage import Database, Run

from .conftest import read_output, resolution, settings
from .test_runner import K1, K1_DISPUTED, K2, K3, K4, LESSON, P1, Team, run

pytestmark = pytest.mark.anyio


async def rerun(db: Database, team: Team, out: Path, run_id: str = "r2") -> RerunReport:
    async with ModelPool() as pool:
        for model in team.models:
            pool.add(model)
        runner = Runner(settings(), db=db, open_model=pool.get)
        return await rerun_affected(runner, "r1", run_id=run_id, out_path=out)


async def first_run(tmp_path: Path, db: Database, schema_path: Path) -> str:
    """r1: k1 is disputed and drafts LESSON during batch [k1, k2]; batch [k3, k4] gets it."""
    team = Team(
        b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)}
    )
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4, P1], team.models)
    (learning,) = KnowledgeBase(db).list()
    return learning.id


async def test_a_learning_placed_mid_run_affects_the_products_whose_prompts_lacked_it(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    learning = await first_run(tmp_path, db, schema_path)
    affected = find_affected(db, "r1", budget_tokens=400)
    # k3 and k4 had it in their prompts; the pan is in another category.
    assert [(p.product_id, p.learnings) for p in affected] == [
        ("k1", [learning]),
        ("k2", [learning]),
    ]


async def test_a_learning_added_after_the_run_affects_every_product_of_its_subtree(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    learning = await first_run(tmp_path, db, schema_path)
    kb = KnowledgeBase(db)
    later = kb.add(
        node_key=kb.ensure_path(CategoryPath.parse("Home")),
        text="The brand is never a size.",
        attributes=["Brand"],
        actor="ann",
    )
    affected = {p.product_id: p.learnings for p in find_affected(db, "r1", budget_tokens=400)}
    assert affected == {
        "k1": [learning, later.id],
        "k2": [learning, later.id],
        "k3": [later.id],
        "k4": [later.id],
        "p1": [later.id],
    }


async def test_a_deprecated_learning_affects_nothing(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    learning = await first_run(tmp_path, db, schema_path)
    KnowledgeBase(db).set_status(learning, "deprecated", actor="ann")
    assert find_affected(db, "r1", budget_tokens=400) == []
    report = await rerun(db, Team(), tmp_path / "rerun" / "r2.jsonl")
    assert (report.run_id, report.products) == (None, [])
    with db.read() as session:
        assert session.get(Run, "r2") is None  # no run was started


async def test_rerun_runs_the_affected_products_as_a_new_run_and_reports_the_changes(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    learning = await first_run(tmp_path, db, schema_path)
    out = tmp_path / "rerun" / "r2.jsonl"
    # With the learning in their prompts, both generators now agree on k1.
    report = await rerun(db, Team(), out)

    assert report.run_id == "r2"
    assert [(p.product_id, p.past_seq, p.seq, p.learnings) for p in report.products] == [
        ("k1", 0, 0, [learning]),
        ("k2", 1, 1, [learning]),
    ]
    assert report.products[0].changes == [
        AttributeChange(
            attribute="Brand",
            old_value="Acme",
            old_status="supervisor",
            new_value="Acme",
            new_status="consensus",
        )
    ]
    assert report.products[1].changes == []
    assert (report.changed_products, report.changed_attributes) == (1, 1)
    paths = rerun_paths(out)
    assert [json.loads(line)["id"] for line in paths.input.read_text().splitlines()] == [
        "k1",
        "k2",
    ]
    assert [line["id"] for line in read_output(out)] == ["k1", "k2"]
    saved = json.loads(paths.changes.read_text())
    assert (saved["run_id"], saved["changed_products"], saved["changed_attributes"]) == (
        "r2",
        1,
        1,
    )
    assert saved["products"][0]["changes"][0]["new_status"] == "consensus"
    # The rerun's prompts carried the learning.
    assert all(a["learnings"] == [learning] for a in read_output(out)[0]["attributes"].values())


async def test_a_resumed_rerun_keeps_its_plan(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    await first_run(tmp_path, db, schema_path)
    out = tmp_path / "rerun" / "r2.jsonl"
    first = await rerun(db, Team(), out)
    # A new learning after the rerun started does not change what the rerun covers.
    kb = KnowledgeBase(db)
    kb.add(
        node_key=kb.ensure_path(CategoryPath.parse("Home")),
        text="The brand is never a size.",
        attributes=["Brand"],
        actor="ann",
    )
    again = await rerun(db, Team(), out)
    assert [p.product_id for p in again.products] == [p.product_id for p in first.products]
    assert again.summary is not None and again.summary.resumed
