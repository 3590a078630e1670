"""Deployment modes through the runner on scripted models: what reaches later prompts, when."""

from __future__ import annotations

from pathlib import Path

import pytest

from dissensus.knowledge import Governance, KnowledgeBase
from dissensus.llm.testing import ScriptedRequest
from dissensus.storage import Database
from dissensus.workers import LEARNINGS_HEADING

from .conftest import resolution, settings, title_of
from .test_runner import K1, K1_DISPUTED, K2, K3, K4, LESSON, Team, run

pytestmark = pytest.mark.anyio


def prompted_with(team: Team, learning_id: str) -> list[str]:
    """Titles whose generator prompts carried the learning, in order."""
    marker = f"({learning_id})"
    seen: list[str] = []
    requests: list[ScriptedRequest] = team.gen_a.requests
    for request in requests:
        if LEARNINGS_HEADING in request.system and marker in request.system:
            seen.append(title_of(request))
    return seen


async def test_learn_then_deploy_keeps_learnings_out_of_runs_until_promoted(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    config = settings(deployment_mode="learn-then-deploy")
    team = Team(
        b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)}
    )
    summary, _ = await run(tmp_path, db, schema_path, [K1, K2, K3, K4], team.models, config)

    kb = KnowledgeBase(db)
    (learning,) = kb.list()
    assert (learning.status, learning.approved, learning.sources) == ("proposed", False, ["r1:k1"])
    assert summary.learnings_added == 1
    assert prompted_with(team, learning.id) == []  # staged: no run used it

    gov = Governance(kb, config.deployment())
    gov.approve(learning.id, actor="ann")
    again = Team()
    await run(tmp_path, db, schema_path, [K3], again.models, config, run_id="r2")
    assert prompted_with(again, learning.id) == []  # approved is not yet published

    gov.promote(actor="root")
    published = Team()
    await run(tmp_path, db, schema_path, [K3], published.models, config, run_id="r3")
    assert prompted_with(published, learning.id) == [K3["title"]]


async def test_deploy_and_learn_with_confirmations_activates_on_the_nth_later_case(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    """k1 drafts the lesson (proposed), k3 drafts it again (1 confirmation: active)."""
    config = settings(confirmations=1)
    lesson = resolution({"Brand": "Acme"}, lesson=LESSON)
    team = Team(
        b={**K1_DISPUTED, K3["title"]: {"Brand": "Zeta Chef"}},
        supervisor={K1["title"]: lesson, K3["title"]: resolution({"Brand": "Zeta"}, lesson=LESSON)},
    )
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4], team.models, config)

    kb = KnowledgeBase(db)
    (learning,) = kb.list()
    assert (learning.status, learning.sources) == ("active", ["r1:k1", "r1:k3"])
    assert [(e.op, e.actor) for e in kb.history(learning_id=learning.id)] == [
        ("add", "memory-manager"),
        ("discard", "memory-manager"),
        ("confirm", "memory-manager"),
        ("status", "memory-manager"),
    ]
    # Batch [k3, k4] retrieved before k3 confirmed it; the next run gets it.
    assert prompted_with(team, learning.id) == []
    later = Team()
    await run(tmp_path, db, schema_path, [K2], later.models, config, run_id="r2")
    assert prompted_with(later, learning.id) == [K2["title"]]


async def test_deploy_and_learn_without_confirmations_is_live_at_once(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team(
        b=K1_DISPUTED, supervisor={K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)}
    )
    await run(tmp_path, db, schema_path, [K1, K2, K3, K4], team.models, settings())
    (learning,) = KnowledgeBase(db).list()
    assert learning.status == "active"
    assert prompted_with(team, learning.id) == [K3["title"], K4["title"]]
