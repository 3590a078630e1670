"""The runner end to end on scripted models: output order, errors, statuses, learning, summary."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dissensus.config import Settings
from dissensus.domain import Resolution
from dissensus.errors import InputError
from dissensus.knowledge import KnowledgeBase
from dissensus.llm import LLM, ModelPool
from dissensus.llm.base import ModelProfile
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedRequest
from dissensus.pipeline import CategoryStats, Runner, RunRequest, RunSummary
from dissensus.pipeline.runner import ProgressHook
from dissensus.storage import Database
from dissensus.storage.tables import ModelCall as ModelCallRow
from dissensus.storage.tables import Run, RunProduct
from dissensus.workers import LEARNINGS_HEADING

from .conftest import (
    GEN_IN,
    GEN_OUT,
    SUP_IN,
    SUP_OUT,
    Script,
    Supervisor,
    generators,
    read_output,
    resolution,
    settings,
    title_of,
    write_catalog,
)

pytestmark = pytest.mark.anyio

K1 = {"id": "k1", "title": "Acme Chef Knife 8in", "category": "Home > Knives"}
K2 = {"id": "k2", "title": "Acme Paring Knife 3in", "category": "Home > Knives"}
K3 = {"id": "k3", "title": "Zeta Chef Knife", "category": "Home > Knives"}
K4 = {"id": "k4", "title": "Zeta Paring Knife", "category": "Home > Knives"}
P1 = {"id": "p1", "title": "Brava Skillet 12in", "category": "Home > Pans"}
P2 = {"id": "p2", "title": "Brava Skillet 10in", "category": "Home > Pans"}

AGREED = {
    K1["title"]: {"Brand": "Acme", "Knife type": "Chef"},
    K2["title"]: {"Brand": "Acme", "Knife type": "Paring"},
    K3["title"]: {"Brand": "Zeta", "Knife type": "Chef"},
    K4["title"]: {"Brand": "Zeta", "Knife type": "Paring"},
    P1["title"]: {"Brand": "Brava", "Size": "12in"},
    P2["title"]: {"Brand": "Brava", "Size": "10in"},
}
K1_DISPUTED = {K1["title"]: {"Brand": "Acme Chef"}}
"""Generator b reads the model word into k1's brand."""
LESSON = "The brand is the first word of the title, never the knife type after it."


class Team:
    """The scripted models of one run: generators a and b and the supervisor."""

    def __init__(
        self,
        b: dict[str, dict[str, str]] | None = None,
        supervisor: dict[str, ScriptedOutput] | None = None,
    ) -> None:
        self.gen_a, self.gen_b = generators(Script(a=AGREED, b=b or {}))
        self.supervisor = Supervisor(supervisor or {})

    @property
    def models(self) -> list[LLM]:
        return [self.gen_a, self.gen_b, self.supervisor.llm]

    def prompted_titles(self) -> list[str]:
        return [title_of(r) for r in self.gen_a.requests]


async def run(
    tmp_path: Path,
    db: Database,
    schema_path: Path,
    records: list[dict[str, Any] | str],
    models: Sequence[LLM],
    config: Settings | None = None,
    *,
    run_id: str = "r1",
    progress: ProgressHook | None = None,
) -> tuple[RunSummary, list[dict[str, Any]]]:
    catalog = write_catalog(tmp_path / "catalog.jsonl", records)
    out = tmp_path / "out" / "enriched.jsonl"
    async with ModelPool() as pool:
        for model in models:
            pool.add(model)
        runner = Runner(config or settings(), db=db, open_model=pool.get, progress=progress)
        summary = await runner.run(
            RunRequest(input_path=catalog, schema_path=schema_path, out_path=out, run_id=run_id)
        )
    return summary, read_output(out)


def statuses(line: dict[str, Any]) -> dict[str, str]:
    return {name: a["status"] for name, a in line["attributes"].items()}


def values(line: dict[str, Any]) -> dict[str, str | None]:
    return {name: a["value"] for name, a in line["attributes"].items()}


async def test_output_has_one_line_per_record_in_input_order_and_bad_records_do_not_stop_it(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team()
    records: list[dict[str, Any] | str] = [
        K1,
        P1,
        "{not json",
        K2,
        {"id": "bad", "title": "", "category": "Home > Knives"},
        {"id": "g1", "title": "Verde Trowel", "category": "Garden > Tools"},
        P2,
    ]
    progress: list[tuple[int, int]] = []
    summary, out = await run(
        tmp_path, db, schema_path, records, team.models, progress=lambda *a: progress.append(a)
    )

    assert [line["id"] for line in out] == ["k1", "p1", "#2", "k2", "bad", "g1", "p2"]
    assert out[2] == {
        "id": "#2",
        "category": None,
        "attributes": {},
        "models": [],
        "error": "record at line 3: not valid JSON (Expecting property name enclosed in double "
        "quotes)",
    }
    assert out[4]["category"] is None
    assert out[4]["error"] == "record 5 (id 'bad'): field 'title' must be a non-empty string"
    assert out[5] == {
        "id": "g1",
        "category": "Garden > Tools",
        "attributes": {},
        "models": [],
        "error": "category 'Garden > Tools' has no schema entry; add it under 'categories:'",
    }
    for line in (out[0], out[1], out[3], out[6]):
        assert line["error"] is None
    assert values(out[0]) == {"Brand": "Acme", "Knife type": "Chef"}
    assert values(out[1]) == {"Brand": "Brava", "Size": "12in"}
    assert values(out[3]) == {"Brand": "Acme", "Knife type": "Paring"}
    assert values(out[6]) == {"Brand": "Brava", "Size": "10in"}
    # Products are worked on by category (knives, pans: each in input order, the two side by
    # side); errors cost no model call.
    prompted = team.prompted_titles()
    assert sorted(prompted) == sorted([K1["title"], K2["title"], P1["title"], P2["title"]])
    assert [t for t in prompted if "Knife" in t] == [K1["title"], K2["title"]]
    assert [t for t in prompted if "Skillet" in t] == [P1["title"], P2["title"]]
    assert (summary.products, summary.errors) == (4, 3)
    assert progress[0] == (0, 7) and progress[-1] == (7, 7)


async def test_agreeing_generators_settle_by_consensus_without_the_supervisor(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team()
    _, out = await run(tmp_path, db, schema_path, [K1, P1], team.models)

    assert out[0] == {
        "id": "k1",
        "category": "Home > Knives",
        "attributes": {
            # No evaluator: two of two generators give 1.0 x 0.8.
            "Brand": {"value": "Acme", "status": "consensus", "confidence": 0.8, "learnings": []},
            "Knife type": {
                "value": "Chef",
                "status": "consensus",
                "confidence": 0.8,
                "learnings": [],
            },
        },
        "models": ["scripted:gen-a", "scripted:gen-b"],
        "error": None,
    }
    assert statuses(out[1]) == {"Brand": "consensus", "Size": "consensus"}
    assert team.supervisor.llm.requests == []
    # The two generators differ by prompt style.
    assert team.gen_a.requests[0].system != team.gen_b.requests[0].system
    assert "careful catalog analyst" in team.gen_b.requests[0].system


async def test_disagreement_goes_to_the_supervisor_and_only_the_disputed_attribute_changes(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team(b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"})})
    _, out = await run(tmp_path, db, schema_path, [K1, K2], team.models)

    assert out[0]["attributes"] == {
        "Brand": {"value": "Acme", "status": "supervisor", "confidence": 0.9, "learnings": []},
        "Knife type": {"value": "Chef", "status": "consensus", "confidence": 0.8, "learnings": []},
    }
    assert out[0]["models"] == ["scripted:gen-a", "scripted:gen-b", "scripted:supervisor"]
    assert statuses(out[1]) == {"Brand": "consensus", "Knife type": "consensus"}
    (case,) = team.supervisor.cases
    # A tool-capable model runs as an agent over the supervisor's tools.
    assert "category_schema" in case.tool_names
    assert "generator-a said 'Acme'" in case.prompt
    assert "generator-b said 'Acme Chef'" in case.prompt
    assert "Knife type" not in case.prompt.split("Disputed attributes:")[1]
    # The supervisor's answer is kept with the record it settled (provenance for learnings).
    with db.read() as session:
        stored = session.scalars(select(RunProduct.supervisor).order_by(RunProduct.seq)).all()
    assert stored[1] is None
    assert stored[0] is not None and stored[0]["model"] == "scripted:supervisor"
    assert stored[0]["resolution"]["values"] == {"Brand": "Acme"}
    assert stored[0]["resolution"]["why_workers_failed"] == (
        "generator b took a word of the model name for the brand"
    )


async def test_a_tool_less_supervisor_resolves_in_gathered_mode(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team(b=K1_DISPUTED)

    def gathered(request: ScriptedRequest) -> ScriptedOutput:
        assert request.tool_names == ()
        assert request.output_type is not Resolution
        return {"Brand": "Acme"}

    tool_less = ModelProfile(supports_tools=False, context_tokens=8192)
    supervisor = ScriptedLLM("scripted:supervisor", gathered, profile=tool_less)
    _, out = await run(
        tmp_path,
        db,
        schema_path,
        [K1],
        [team.gen_a, team.gen_b, supervisor],
        settings(learning=False),
    )

    assert out[0]["attributes"]["Brand"] == {
        "value": "Acme",
        "status": "supervisor",
        "confidence": 0.6,
        "learnings": [],
    }
    assert len(supervisor.requests) == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(
            resolution({"Brand": "Acme"}, confidence=0.9, needs_human=True, lesson=LESSON),
            {"value": "Acme", "status": "needs_review", "confidence": 0.9, "learnings": []},
            id="needs-human",
        ),
        pytest.param(
            resolution({"Brand": "Acme"}, confidence=0.2, lesson=LESSON),
            {"value": "Acme", "status": "needs_review", "confidence": 0.2, "learnings": []},
            id="low-confidence",
        ),
        pytest.param(
            "I cannot decide.",
            {"value": None, "status": "needs_review", "confidence": 0.0, "learnings": []},
            id="abstained",
        ),
    ],
)
async def test_an_unsure_or_failed_supervisor_leaves_the_value_for_review(
    tmp_path: Path,
    db: Database,
    schema_path: Path,
    answer: ScriptedOutput,
    expected: dict[str, Any],
) -> None:
    team = Team(b=K1_DISPUTED, supervisor={K1["title"]: answer})
    summary, out = await run(tmp_path, db, schema_path, [K1], team.models)

    assert out[0]["attributes"]["Brand"] == expected
    assert out[0]["attributes"]["Knife type"]["status"] == "consensus"
    assert summary.statuses == {"needs_review": 1, "consensus": 1}
    assert summary.supervisor_calls == 1
    # An unsure or hand-off resolution teaches nothing, even when it drafted a lesson.
    assert KnowledgeBase(db).list() == []
    assert summary.learnings_added == 0


async def test_learnings_reach_later_batches_of_the_category_only(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """Deploy and learn: a lesson written during batch [k1, k2] is in the prompts of [k3, k4]."""
    team = Team(
        b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)}
    )
    summary, out = await run(tmp_path, db, schema_path, [K1, K2, K3, K4, P1], team.models)

    (learning,) = KnowledgeBase(db).list()
    assert learning.node == "/home/knives"
    assert learning.text == LESSON
    assert learning.attributes == ["Brand"]
    assert learning.sources == ["r1:k1"]
    assert learning.uses == 2  # k3 and k4
    marker = f"({learning.id})"
    by_title: dict[str, list[ScriptedRequest]] = {}
    for request in team.gen_a.requests + team.gen_b.requests:
        by_title.setdefault(title_of(request), []).append(request)
    for title in (K1["title"], K2["title"], P1["title"]):
        assert all(LEARNINGS_HEADING not in r.system for r in by_title[title]), title
    for title in (K3["title"], K4["title"]):
        assert len(by_title[title]) == 2
        assert all(LEARNINGS_HEADING in r.system and marker in r.system for r in by_title[title])
    cited = {line["id"]: [a["learnings"] for a in line["attributes"].values()] for line in out}
    now = [learning.id]
    assert cited == {
        "k1": [[], []],
        "k2": [[], []],
        "k3": [now, now],
        "k4": [now, now],
        "p1": [[], []],
    }
    assert summary.learnings_added == 1


async def test_no_learning_writes_nothing_and_later_prompts_stay_plain(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team(
        b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)}
    )
    summary, out = await run(
        tmp_path, db, schema_path, [K1, K2, K3, K4], team.models, settings(learning=False)
    )

    assert len(team.supervisor.cases) == 1
    assert statuses(out[0])["Brand"] == "supervisor"
    assert KnowledgeBase(db).list() == []
    assert KnowledgeBase(db).version() == 0
    assert all(LEARNINGS_HEADING not in r.system for r in team.gen_a.requests)
    assert all(a["learnings"] == [] for line in out for a in line["attributes"].values())
    assert summary.learnings_added == 0


async def test_summary_numbers_match_the_hand_count(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team(
        b={**K1_DISPUTED, P1["title"]: {"Brand": "Skillet", "Size": "Brava Skillet"}},
        supervisor={
            K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON),
            P1["title"]: resolution({"Brand": "Brava", "Size": "12in"}, needs_human=True),
        },
    )
    records: list[dict[str, Any] | str] = [
        K1,
        "[1, 2",
        P1,
        K2,
        {"id": "g1", "title": "Verde Trowel", "category": "Garden > Tools"},
        P2,
    ]
    summary, _ = await run(tmp_path, db, schema_path, records, team.models)

    # 4 products x 2 attributes; k1 Brand by the supervisor, p1 both attributes for review.
    expected_statuses = {"consensus": 5, "supervisor": 1, "needs_review": 2}
    # 2 generator calls per product, 1 supervisor call each for k1 and p1; the first learning
    # of a node is placed by rule, without asking the memory manager.
    requests = 4 * 2 + 2
    assert summary.model_dump() == {
        "run_id": "r1",
        "products": 4,
        "errors": 2,
        "attributes": 8,
        "statuses": expected_statuses,
        "by_category": {
            "Home > Knives": CategoryStats(
                products=2, disputed_products=1, attributes=4, disputed_attributes=1
            ).model_dump(),
            "Home > Pans": CategoryStats(
                products=2, disputed_products=1, attributes=4, disputed_attributes=2
            ).model_dump(),
        },
        "supervisor_calls": 2,
        "learnings_added": 1,
        "model_requests": requests,
        "input_tokens": 8 * GEN_IN + 2 * SUP_IN,
        "output_tokens": 8 * GEN_OUT + 2 * SUP_OUT,
        "wall_seconds": summary.wall_seconds,
        "resumed": False,
        # The one rule k1 taught; both disputed products are each category's first half.
        "impact": {
            "by_kind": {"rule": {"active": 1}},
            "settled_by_learnings": 0,
            "first_half_disagreement": 1.0,
            "second_half_disagreement": 0.0,
            "first_half_supervisor_calls": 2,
            "second_half_supervisor_calls": 0,
            # k1 had one disputed attribute and p1 two: 3 over the first half's 2 products.
            "first_half_disputed_attributes": 1.5,
            "second_half_disputed_attributes": 0.0,
            "routed": 0,
        },
    }
    assert summary.consensus_rate == 5 / 8
    assert summary.disagreement_rate == 2 / 4
    assert summary.by_category["Home > Pans"].disagreement_rate == 0.5
    with db.read() as session:
        row = session.scalars(select(Run).where(Run.id == "r1")).one()
        assert (row.status, row.finished_at is not None) == ("completed", True)
        assert row.summary == summary.model_dump(mode="json")


async def test_a_learning_about_the_same_attribute_is_placed_by_the_memory_manager(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """The second Brand lesson at /home/knives meets a related one: the model is asked."""
    k3_disputed = {K3["title"]: {"Brand": "Zeta Chef"}}
    second = "Brands are one capitalised word; the next word is the knife type."
    team = Team(
        b={**K1_DISPUTED, **k3_disputed},
        supervisor={
            K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON),
            K3["title"]: resolution({"Brand": "Zeta"}, lesson=second),
        },
    )
    summary, out = await run(tmp_path, db, schema_path, [K1, K2, K3, K4], team.models)

    placements = [r for r in team.supervisor.llm.requests if r.output_type is not Resolution]
    assert len(placements) == 1
    assert LESSON in placements[0].prompt and second in placements[0].prompt
    kb = KnowledgeBase(db)
    assert sorted(lr.text for lr in kb.list()) == sorted([LESSON, second])
    first_id = next(lr.id for lr in kb.list() if lr.text == LESSON)
    # k3's own prompt already held the first lesson, so its output cites it.
    assert out[2]["attributes"]["Brand"]["learnings"] == [first_id]
    assert summary.learnings_added == 2
    # The placement decision is a model call like any other: counted for cost.
    with db.read() as session:
        stages = session.scalars(
            select(ModelCallRow.stage).where(ModelCallRow.stage == "memory-manager")
        ).all()
    assert stages == ["memory-manager"]


async def test_scripted_models_open_by_model_string(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """With no models added, the pool opens ``scripted:echo`` itself (what the CLI does)."""
    config = settings(
        generators=[{"model": "scripted:echo"}, {"model": "scripted:echo", "style": "evidence"}],
        evaluator="scripted:echo",
        supervisor="scripted:echo",
    )
    summary, out = await run(tmp_path, db, schema_path, [K1, P1], [], config)

    assert [line["models"] for line in out] == [["scripted:echo"], ["scripted:echo"]]
    # Echo answers the first span of the title for every open attribute; the evaluator says ok.
    assert out[0]["attributes"]["Brand"] == {
        "value": "Acme",
        "status": "consensus",
        "confidence": 1.0,
        "learnings": [],
    }
    assert summary.statuses == {"consensus": 4}
    assert summary.model_requests == 2 * 3


async def test_the_evaluator_confirms_values_and_its_veto_sends_agreement_to_the_supervisor(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    def evaluate(request: ScriptedRequest) -> ScriptedOutput:
        ok = {"verdict": "ok", "reason": "as written", "suggestion": "n/a"}
        verdicts = {"Brand": ok, "Knife type": ok}
        if title_of(request) == K2["title"]:
            verdicts["Brand"] = {
                "verdict": "wrong",
                "reason": "two words",
                "suggestion": "Acme Paring",
            }
        return verdicts

    evaluator = ScriptedLLM("scripted:evaluator", evaluate)
    team = Team(supervisor={K2["title"]: resolution({"Brand": "Acme"})})
    _, out = await run(
        tmp_path,
        db,
        schema_path,
        [K1, K2],
        [*team.models, evaluator],
        settings(evaluator="scripted:evaluator"),
    )

    assert out[0]["attributes"]["Brand"]["confidence"] == 1.0  # two of two, evaluator ok
    assert out[0]["models"] == ["scripted:gen-a", "scripted:gen-b", "scripted:evaluator"]
    assert statuses(out[1]) == {"Brand": "supervisor", "Knife type": "consensus"}
    (case,) = team.supervisor.cases
    assert "evaluator: wrong: two words (suggests 'Acme Paring')" in case.prompt
    assert len(evaluator.requests) == 2
    assert '- Brand: "Acme"' in evaluator.requests[1].prompt


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.jsonl", "input file '{path}' does not exist"),
        ("catalog.txt", "input '{path}': unknown format '.txt'; use .jsonl, .csv or .parquet"),
    ],
)
async def test_an_unusable_input_fails_before_a_run_is_recorded(
    tmp_path: Path, db: Database, schema_path: Path, name: str, message: str
) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("{}\n", encoding="utf-8")
    runner = Runner(settings(), db=db, open_model=ModelPool())
    with pytest.raises(InputError) as raised:
        await runner.run(RunRequest(path, schema_path, tmp_path / "out.jsonl", run_id="nope"))
    assert str(raised.value) == message.format(path=path)
    with db.read() as session:
        assert session.scalars(select(Run)).all() == []


async def test_an_output_that_is_the_input_is_refused_before_a_run_is_recorded(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "catalog.jsonl", [K1, P1])
    before = catalog.read_bytes()
    runner = Runner(settings(), db=db, open_model=ModelPool())
    for out in (catalog, tmp_path / "." / "catalog.jsonl", schema_path):
        with pytest.raises(InputError, match="would destroy it: choose another --out"):
            await runner.run(RunRequest(catalog, schema_path, out, run_id="same"))
    assert catalog.read_bytes() == before
    with db.read() as session:
        assert session.scalars(select(Run)).all() == []


async def test_a_disputed_attribute_the_supervisor_leaves_out_waits_for_review(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """Only a null value means "absent"; a missing key is no decision at all."""
    both = {P1["title"]: {"Brand": "Skillet", "Size": "Brava Skillet"}}
    answer = resolution({"Brand": "Brava"})  # says nothing about Size
    team = Team(b=both, supervisor={P1["title"]: answer})
    _, out = await run(tmp_path, db, schema_path, [P1], team.models)

    assert out[0]["attributes"] == {
        "Brand": {"value": "Brava", "status": "supervisor", "confidence": 0.9, "learnings": []},
        "Size": {"value": None, "status": "needs_review", "confidence": 0.0, "learnings": []},
    }


class _Slow(ScriptedLLM):
    """A scripted generator that takes ``delays[title]`` seconds and logs starts and ends."""

    def __init__(self, name: str, script: Script, which: str, log: list[tuple[str, str]]) -> None:
        super().__init__(name, script.answer(which))
        self.log = log
        self.in_flight = 0
        self.most_in_flight = 0

    async def _run(self, output_type: Any, **kwargs: Any) -> Any:
        title = kwargs["prompt"]
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.log.append(("start", title))
        try:
            # K1 is slow: a whole batch of the other category fits in its time.
            await asyncio.sleep(1.5 if K1["title"] in title else 0.01)
            return await super()._run(output_type, **kwargs)
        finally:
            self.in_flight -= 1
            self.log.append(("end", title))


async def test_categories_run_side_by_side_and_a_category_keeps_its_batch_order(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """A slow knife does not hold up the pans; knife batches still run one after the other."""
    log: list[tuple[str, str]] = []
    script = Script(a=AGREED)
    gen_a = _Slow("scripted:gen-a", script, "a", log)
    gen_b = ScriptedLLM("scripted:gen-b", script.answer("b"))
    supervisor = Supervisor({})
    p3 = {"id": "p3", "title": "Brava Wok 14in", "category": "Home > Pans"}
    p4 = {"id": "p4", "title": "Brava Wok 16in", "category": "Home > Pans"}
    agreed = {
        **AGREED,
        p3["title"]: {"Brand": "Brava", "Size": "14in"},
        p4["title"]: {"Brand": "Brava", "Size": "16in"},
    }
    script.a.update(agreed)
    records: list[dict[str, Any] | str] = [K1, K2, K3, P1, P2, p3, p4]
    summary, out = await run(
        tmp_path,
        db,
        schema_path,
        records,
        [gen_a, gen_b, supervisor.llm],
        settings(batch_size=2, concurrency=2),
    )

    assert [line["id"] for line in out] == ["k1", "k2", "k3", "p1", "p2", "p3", "p4"]
    assert summary.products == 7
    events = [
        (kind, next(r["title"] for r in records if isinstance(r, dict) and r["title"] in t))
        for kind, t in log
    ]
    k1_end = events.index(("end", K1["title"]))
    # While k1 was in the model, the pan batches [p1, p2] and [p3, p4] ran to the end.
    pans_done = [events.index(("end", p["title"])) for p in (P1, P2, p3, p4)]
    assert max(pans_done) < k1_end
    # k3 (the knives' second batch) started only after the first batch [k1, k2] ended.
    assert events.index(("start", K3["title"])) > k1_end
    # The limit holds across categories.
    assert gen_a.most_in_flight == 2
