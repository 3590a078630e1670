"""A run on scripted models fills the queue; a review changes the stored record and the file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dissensus.config import GeneratorConfig, Settings
from dissensus.domain import CategoryPath, Resolution
from dissensus.knowledge import KnowledgeBase, PlacementDecision
from dissensus.llm import ModelPool
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedRequest
from dissensus.pipeline import Runner, RunRequest
from dissensus.review import ReviewPolicy, ReviewQueue, write_run_output
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

pytestmark = pytest.mark.anyio

SCHEMA = """\
categories:
  - path: Home
    attributes:
      - {name: Brand, description: The maker as written}
  - path: Home > Knives
    attributes:
      - {name: Knife type, values: [Chef, Paring]}
"""
HAND_OFF = "Acme Chef Knife"
UNSURE = "Zeta Chef Knife"
AGREED = [f"Brava Paring Knife {i}" for i in range(10)]


def _title(request: ScriptedRequest) -> str:
    return request.prompt.splitlines()[0].removeprefix("Product title: ")


def _answers(title: str) -> dict[str, str]:
    return {"Brand": title.split()[0], "Knife type": title.split()[1]}


def generator_b(request: ScriptedRequest) -> dict[str, str]:
    title = _title(request)
    values = _answers(title)
    if title in (HAND_OFF, UNSURE):
        values["Brand"] = " ".join(title.split()[:2])  # reads the type into the brand
    return values


def supervisor(request: ScriptedRequest) -> ScriptedOutput:
    if request.output_type is PlacementDecision:
        return PlacementDecision(op="add", reason="a separate rule")
    title = request.prompt.splitlines()[1].removeprefix("Title: ")
    answers: Mapping[str, Resolution] = {
        HAND_OFF: Resolution(
            values={"Brand": "Acme"},
            confidence=0.9,
            why_workers_failed="b took the type for the brand",
            needs_human=True,
        ),
        UNSURE: Resolution(values={"Brand": "Zeta"}, confidence=0.2),
    }
    return answers[title]


def models() -> list[ScriptedLLM]:
    return [
        ScriptedLLM("scripted:gen-a", lambda r: _answers(_title(r))),
        ScriptedLLM("scripted:gen-b", generator_b),
        ScriptedLLM("scripted:supervisor", supervisor),
    ]


def settings(audit_rate: float) -> Settings:
    return Settings.model_validate(
        {
            "generators": [
                GeneratorConfig(model="scripted:gen-a", style="direct"),
                GeneratorConfig(model="scripted:gen-b", style="evidence"),
            ],
            "evaluator": None,
            "supervisor": "scripted:supervisor",
            "batch_size": 2,
            "concurrency": 1,
            "review": {"audit_rate": audit_rate, "audit_half_life": 5},
            "learning_kinds": ["rule"],
            "learning_gate": False,
            "lexicon_worker": False,
        }
    )


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    titles = [HAND_OFF, *AGREED[:5], UNSURE, *AGREED[5:]]
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "title": t, "category": "Home > Knives"}) + "\n"
            for i, t in enumerate(titles)
        )
    )
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    return catalog, schema


async def run(
    db: Database,
    tmp_path: Path,
    *,
    audit_rate: float,
    run_id: str = "r1",
    stop_after: int | None = None,
) -> Path:
    catalog, schema = write_inputs(tmp_path)
    out = tmp_path / f"{run_id}.jsonl"

    def progress(done: int, _total: int) -> None:
        if stop_after is not None and done >= stop_after:
            raise KeyboardInterrupt  # what Ctrl-C does mid-run

    async with ModelPool() as pool:
        for model in models():
            pool.add(model)
        runner = Runner(settings(audit_rate), db=db, open_model=pool.get, progress=progress)
        await runner.run(
            RunRequest(input_path=catalog, schema_path=schema, out_path=out, run_id=run_id)
        )
    return out


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    with scratch_database(tmp_path / "home") as database:
        yield database


async def test_hand_offs_and_unsure_resolutions_are_queued_with_what_a_reviewer_needs(
    db: Database, tmp_path: Path
) -> None:
    kb = KnowledgeBase(db)
    rule = kb.add(
        node_key=kb.ensure_path(CategoryPath.parse("Home > Knives")),
        text="The knife type follows the brand.",
        attributes=["Knife type"],
        actor="test",
    )
    await run(db, tmp_path, audit_rate=0.0)
    queue = ReviewQueue(db)
    items = queue.list()
    assert [(i.seq, i.product_id, i.reason, i.attributes) for i in items] == [
        (0, "p0", "needs_human", ["Brand"]),
        (6, "p6", "low_confidence", ["Brand"]),
    ]
    detail = queue.get(items[0].id)
    ctx = detail.context
    assert ctx.product.title == HAND_OFF
    assert [(e.role, e.values["Brand"]) for e in ctx.extractions] == [
        ("generator-a", "Acme"),
        ("generator-b", "Acme Chef"),
    ]
    assert ctx.disputes[0].candidates == {"generator-a": "Acme", "generator-b": "Acme Chef"}
    assert ctx.supervisor is not None and ctx.supervisor.resolution is not None
    assert ctx.supervisor.resolution.why_workers_failed == "b took the type for the brand"
    assert [lr.id for lr in ctx.learnings] == [rule.id]
    assert [a.name for a in ctx.attributes] == ["Brand", "Knife type"]
    assert detail.current == ctx.record
    assert ctx.record.attributes["Brand"].status == "needs_review"


async def test_an_audit_rate_of_one_queues_every_consensus_record(
    db: Database, tmp_path: Path
) -> None:
    await run(db, tmp_path, audit_rate=1.0)
    reasons = [i.reason for i in ReviewQueue(db).list(limit=100)]
    assert reasons.count("audit") == len(AGREED)


async def test_maturity_counts_products_of_runs_completed_before_this_one(
    db: Database, tmp_path: Path
) -> None:
    await run(db, tmp_path, audit_rate=0.0, run_id="r1")
    await run(db, tmp_path, audit_rate=0.0, run_id="r2")
    queue = ReviewQueue(db)
    assert queue.maturity_for("r1")("Home > Knives") == 0
    assert queue.maturity_for("r2")("Home > Knives") == 12
    assert queue.maturity_for("r2")("Home > Pans") == 0
    policy = ReviewPolicy(audit_rate=0.05, audit_half_life=5)
    assert policy.audit_rate_at(12) == pytest.approx(0.05 * 0.5 ** (12 / 5))


async def test_a_resumed_run_samples_the_same_products(tmp_path: Path) -> None:
    with scratch_database(tmp_path / "whole") as whole:
        await run(whole, tmp_path / "whole", audit_rate=0.5)
        expected = [(i.seq, i.reason) for i in ReviewQueue(whole).list(limit=100)]
    assert 2 < len(expected) < 12  # some records sampled, not all
    with scratch_database(tmp_path / "resumed") as resumed:
        with pytest.raises(KeyboardInterrupt):
            await run(resumed, tmp_path / "resumed", audit_rate=0.5, stop_after=4)
        assert len(ReviewQueue(resumed).list(limit=100)) < len(expected)
        await run(resumed, tmp_path / "resumed", audit_rate=0.5)
        assert [(i.seq, i.reason) for i in ReviewQueue(resumed).list(limit=100)] == expected


async def test_a_submitted_review_updates_the_record_and_the_rewritten_file(
    db: Database, tmp_path: Path
) -> None:
    out = await run(db, tmp_path, audit_rate=0.0)
    queue = ReviewQueue(db)
    first = queue.claim_next(reviewer="ann")
    assert first is not None and first.product_id == "p0"
    await queue.submit(first.id, reviewer="ann", values={"Brand": "Acme"})
    before = [json.loads(line) for line in out.read_text().splitlines()]
    assert before[0]["attributes"]["Brand"]["status"] == "needs_review"
    write_run_output(db, "r1")
    after = [json.loads(line) for line in out.read_text().splitlines()]
    assert after[0]["attributes"]["Brand"] == {
        "value": "Acme",
        "status": "human",
        "confidence": 1.0,
        "learnings": [],
    }
    assert after[1:] == before[1:]
