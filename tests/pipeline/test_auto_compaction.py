"""Automatic compaction in runs: a node that new learnings push past a threshold is compacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.knowledge.aggregator import Synthesis
from dissensus.llm.testing import ScriptedOutput, ScriptedRequest
from dissensus.storage import Database

from .conftest import resolution, settings
from .test_runner import K1, K1_DISPUTED, K2, K3, K4, LESSON, Team, run

pytestmark = pytest.mark.anyio

SIMILAR = (
    "The brand is the first word of the title, never the knife type.",
    "The brand is the first word in the title, never the knife type that follows.",
)
BROADER = "The brand is the first word of the title, never the knife type after it."


class Team2(Team):
    """The runner test team, whose supervisor (also the memory manager) can synthesize."""

    def __init__(self) -> None:
        super().__init__(
            b=K1_DISPUTED,
            supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)},
        )
        respond = self.supervisor._respond

        def handler(request: ScriptedRequest) -> ScriptedOutput:
            if request.output_type is Synthesis:
                return Synthesis(text=BROADER)
            return respond(request)

        self.supervisor.llm.handler = handler


def seed(db: Database) -> list[str]:
    kb = KnowledgeBase(db)
    node = kb.ensure_path(CategoryPath.parse("Home > Knives"))
    return [
        kb.add(node_key=node, text=t, attributes=["Brand"], sources=[f"s{i}"], actor="ann").id
        for i, t in enumerate(SIMILAR)
    ]


async def test_a_node_past_its_size_threshold_is_compacted_after_the_batch(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    seeded = seed(db)
    config = settings(compaction={"max_learnings_per_node": 2})
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4], Team2().models, config)

    kb = KnowledgeBase(db)
    active = kb.list(status="active")
    assert [(lr.text, lr.node) for lr in active] == [(BROADER, "/home/knives")]
    (merged,) = active
    assert set(merged.sources) == {"s0", "s1", "r1:k1"}  # provenance kept
    deprecated = kb.list(status="deprecated")
    assert {lr.id for lr in deprecated} >= set(seeded)
    auto = [e for e in kb.history() if e.actor == "auto-compaction"]
    assert [e.op for e in auto] == ["add", "status", "status", "status"]


async def test_a_node_within_its_thresholds_is_left_alone(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    seed(db)
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4], Team2().models, settings())
    kb = KnowledgeBase(db)
    assert len(kb.list(status="active")) == 3
    assert [e for e in kb.history() if e.actor == "auto-compaction"] == []


@pytest.mark.parametrize(
    "overrides",
    [{"compaction": {"auto": False, "max_learnings_per_node": 2}},
     {"learning": False, "compaction": {"max_learnings_per_node": 1}}],
)  # fmt: skip
async def test_auto_compaction_is_off_when_disabled_or_in_a_baseline_run(
    tmp_path: Path, db: Database, schema_path: Path, overrides: dict[str, Any]
) -> None:
    seed(db)
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4], Team2().models, settings(**overrides))
    assert [e for e in KnowledgeBase(db).history() if e.actor == "auto-compaction"] == []
