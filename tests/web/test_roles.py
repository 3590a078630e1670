"""Who may do what: every write route, for every role; refusals are 403 and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dissensus.knowledge import KnowledgeBase
from dissensus.review import ReviewQueue
from dissensus.web import Role

from .conftest import Seeded

ClientAs = Callable[[Role], tuple[TestClient, str]]

# (name, path template, form, roles allowed)
WRITES: list[tuple[str, str, dict[str, str], set[Role]]] = [
    ("approve", "/kb/learnings/{proposed}/approve", {}, {"reviewer", "admin"}),
    ("reject", "/kb/learnings/{proposed}/reject", {}, {"reviewer", "admin"}),
    ("edit", "/kb/learnings/{active}/edit", {"text": "Brand: first word."}, {"reviewer", "admin"}),
    (
        "add",
        "/kb/learnings",
        {"node": "/home/knives", "text": "Sizes keep their unit."},
        {"reviewer", "admin"},
    ),
    ("deprecate", "/kb/learnings/{active}/deprecate", {}, {"reviewer", "admin"}),
    ("reactivate", "/kb/learnings/{active}/reactivate", {}, {"reviewer", "admin"}),
    ("claim", "/review/{item}/claim", {}, {"reviewer", "admin"}),
    ("claim next", "/review/next", {}, {"reviewer", "admin"}),
    ("release", "/review/{item}/release", {}, {"reviewer", "admin"}),
    ("submit", "/review/{item}/submit", {"value:Brand": "Kaito"}, {"reviewer", "admin"}),
    ("promote", "/kb/promote", {}, {"admin"}),
    ("rollback", "/kb/rollback", {"version": "1"}, {"admin"}),
]
ROLES: list[Role] = ["viewer", "reviewer", "admin"]


def _state(seeded: Seeded) -> tuple[Any, ...]:
    kb, queue = KnowledgeBase(seeded.db), ReviewQueue(seeded.db)
    item = queue.get(seeded.item_id)
    return kb.version(), item.state, item.claims, item.current.model_dump()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "path", "form", "allowed"), WRITES, ids=[w[0] for w in WRITES])
def test_each_role_may_do_exactly_its_actions(
    client_as: ClientAs,
    seeded: Seeded,
    role: Role,
    name: str,
    path: str,
    form: dict[str, str],
    allowed: set[Role],
) -> None:
    client, token = client_as(role)
    url = path.format(proposed=seeded.proposed_id, active=seeded.active_id, item=seeded.item_id)
    before = _state(seeded)
    response = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
    if role in allowed:
        assert response.status_code == 303, response.text
    else:
        assert response.status_code == 403
        assert f"a {role} may not" in response.text
        assert _state(seeded) == before


def test_import_is_for_admins_only(client_as: ClientAs, seeded: Seeded) -> None:
    for role, expected in (("viewer", 403), ("reviewer", 403), ("admin", 303)):
        client, token = client_as(role)  # type: ignore[arg-type]
        exported = client.get("/kb/export.yaml").text
        response = client.post(
            "/kb/import",
            data={"csrf_token": token},
            files={"file": ("kb.yaml", exported.encode(), "application/yaml")},
            follow_redirects=False,
        )
        assert response.status_code == expected, (role, response.text)


def test_forms_a_role_cannot_use_are_not_shown(client_as: ClientAs, seeded: Seeded) -> None:
    viewer, _ = client_as("viewer")
    page = viewer.get(f"/kb/learnings/{seeded.proposed_id}").text
    assert "/approve" not in page and "/edit" not in page
    assert "/submit" not in viewer.get(f"/review/{seeded.item_id}").text
    reviewer, _ = client_as("reviewer")
    assert "/approve" in reviewer.get(f"/kb/learnings/{seeded.proposed_id}").text
    assert "/kb/promote" not in reviewer.get("/kb").text
    assert "/kb/rollback" not in reviewer.get("/kb/history").text
    admin, _ = client_as("admin")
    assert "/kb/promote" in admin.get("/kb").text
    assert "/kb/rollback" in admin.get("/kb/history").text


def test_changes_are_attributed_to_the_logged_in_user(client_as: ClientAs, seeded: Seeded) -> None:
    client, token = client_as("reviewer")
    client.post(
        f"/kb/learnings/{seeded.proposed_id}/approve",
        data={"csrf_token": token, "reason": "checked on 3 listings"},
    )
    client.post(
        f"/review/{seeded.item_id}/submit", data={"csrf_token": token, "value:Brand": "Kaito"}
    )
    kb = KnowledgeBase(seeded.db)
    last = kb.history(learning_id=seeded.proposed_id)[-1]
    assert (last.op, last.actor, last.reason) == ("approve", "rita", "checked on 3 listings")
    assert kb.get(seeded.proposed_id).status == "active"  # deploy-and-learn: live at once
    item = ReviewQueue(seeded.db).get(seeded.item_id)
    assert item.state == "done" and item.closed_by == "rita"
    assert item.submission is not None and item.submission.reviewer == "rita"


def test_admin_rolls_back_to_a_version(client_as: ClientAs, seeded: Seeded) -> None:
    kb = KnowledgeBase(seeded.db)
    version = kb.version()
    client, token = client_as("admin")
    client.post(f"/kb/learnings/{seeded.active_id}/deprecate", data={"csrf_token": token})
    assert kb.get(seeded.active_id).status == "deprecated"
    response = client.post("/kb/rollback", data={"csrf_token": token, "version": str(version)})
    assert "Rolled back to version" in response.text
    assert kb.get(seeded.active_id).status == "active"
    assert kb.history()[-1].actor == "adam"


def test_a_refused_library_call_is_shown_not_raised(client_as: ClientAs, seeded: Seeded) -> None:
    client, token = client_as("reviewer")
    # An active learning cannot be approved: the library says why, the page shows it.
    response = client.post(f"/kb/learnings/{seeded.active_id}/approve", data={"csrf_token": token})
    assert response.status_code == 200
    assert "only proposed learnings can be approved" in response.text
