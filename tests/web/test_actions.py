"""What the forms do, through the library: staging and promotion, a reviewer's learning, the
output file a submission rewrites."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from dissensus.config import Settings
from dissensus.knowledge import KnowledgeBase
from dissensus.llm.testing import ScriptedLLM, echo_handler
from dissensus.review import ReviewQueue
from dissensus.web import Role, create_app

from .conftest import SECRET, USERS, Seeded, cheap_users, log_in

ClientAs = Callable[[Role], tuple[TestClient, str]]


def test_learn_then_deploy_approval_stages_and_only_an_admin_promotes(
    seeded: Seeded, home: Path
) -> None:
    settings = Settings.load(None, home=home, deployment_mode="learn-then-deploy")
    app = create_app(settings, secret_key=SECRET, db=seeded.db, users=cheap_users(seeded.db))
    kb = KnowledgeBase(seeded.db)
    with TestClient(app) as reviewer, TestClient(app) as admin:
        token = log_in(reviewer, USERS["reviewer"])
        page = reviewer.post(
            f"/kb/learnings/{seeded.proposed_id}/approve", data={"csrf_token": token}
        ).text
        assert "it is proposed (staged: an admin promotes it)" in page
        assert (kb.get(seeded.proposed_id).status, kb.get(seeded.proposed_id).approved) == (
            "proposed",
            True,
        )
        assert reviewer.post("/kb/promote", data={"csrf_token": token}).status_code == 403
        token = log_in(admin, USERS["admin"])
        page = admin.post("/kb/promote", data={"csrf_token": token}).text
        assert f"Promoted 1 learning(s): {seeded.proposed_id}." in page
    assert kb.get(seeded.proposed_id).status == "active"
    assert [(e.op, e.actor) for e in kb.history(learning_id=seeded.proposed_id)][-2:] == [
        ("approve", "rita"),
        ("promote", "adam"),
    ]


def test_a_reviewers_learning_enters_the_kb_as_proposed_under_their_name(
    seeded: Seeded, home: Path
) -> None:
    memory = ScriptedLLM("scripted:memory", echo_handler)
    app = create_app(
        Settings.load(None, home=home),
        secret_key=SECRET,
        db=seeded.db,
        memory_manager=memory,
        users=cheap_users(seeded.db),
    )
    kb = KnowledgeBase(seeded.db)
    before = {lr.id for lr in kb.list(kind="rule")}
    with TestClient(app) as client:
        token = log_in(client, USERS["reviewer"])
        page = client.post(
            f"/review/{seeded.item_id}/submit",
            data={
                "csrf_token": token,
                "value:Brand": "Kaito",
                "learning": "Knife series names such as 'Chef' follow the brand.",
            },
        ).text
    assert f"Item {seeded.item_id} submitted; changed: Brand." in page
    assert "(proposed)" in page
    events = [e for e in kb.history() if e.actor == "rita"]
    assert events, "the placement is attributed to the reviewer"
    new = {lr.id for lr in kb.list(kind="rule")} - before
    for learning_id in new:
        assert kb.get(learning_id).status == "proposed"


def test_a_submission_rewrites_the_runs_output_file(client_as: ClientAs, seeded: Seeded) -> None:
    client, token = client_as("reviewer")
    page = client.post(
        f"/review/{seeded.item_id}/submit",
        data={"csrf_token": token, "value:Brand": "Kaito", "value:Knife type": "Paring"},
    ).text
    assert "changed: Brand, Knife type." in page
    # The reviewer is told the file was rewritten, not where it lives on the server.
    assert "Rewrote the run&#39;s output file (3 records)." in page
    assert str(seeded.output_path) not in page
    line = json.loads(seeded.output_path.read_text(encoding="utf-8").splitlines()[1])
    assert {name: (a["value"], a["status"]) for name, a in line["attributes"].items()} == {
        "Brand": ("Kaito", "human"),
        "Knife type": ("Paring", "human"),
    }


def test_a_value_outside_a_closed_set_is_refused_with_the_librarys_reason(
    client_as: ClientAs, seeded: Seeded
) -> None:
    client, token = client_as("reviewer")
    page = client.post(
        f"/review/{seeded.item_id}/submit",
        data={"csrf_token": token, "value:Brand": "Kaito", "value:Knife type": "Cleaver"},
    ).text
    assert "'Cleaver' is not an allowed value of 'Knife type'" in html.unescape(page)


def test_an_untouched_form_is_refused_until_the_reviewer_confirms_it(
    client_as: ClientAs, seeded: Seeded
) -> None:
    client, token = client_as("reviewer")
    blank = {"csrf_token": token, "value:Brand": "", "value:Knife type": ""}
    page = client.post(f"/review/{seeded.item_id}/submit", data=blank).text
    assert "every value is empty" in html.unescape(page)
    assert ReviewQueue(seeded.db).get(seeded.item_id).state == "open"
    confirmed = client.post(
        f"/review/{seeded.item_id}/submit", data={**blank, "all_absent": "yes"}
    ).text
    assert "submitted; changed:" in confirmed
