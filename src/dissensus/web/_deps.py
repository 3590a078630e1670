"""What every page needs: the library objects behind the app, and one way to render a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from dissensus.config import Settings
from dissensus.errors import DissensusError
from dissensus.knowledge import Governance, KnowledgeBase
from dissensus.llm import LLM
from dissensus.review import ReviewQueue, refresh_output
from dissensus.storage import Database
from dissensus.web._auth import Action, allowed, csrf_token, current_user, pop_flashes
from dissensus.web._throttle import LoginThrottle
from dissensus.web.users import UserStore

__all__ = ["TEMPLATES", "WebDeps", "deps", "render"]

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


TEMPLATES.env.filters["when"] = _when


@dataclass
class WebDeps:
    """The library objects the pages call; built once per app by :func:`create_app`."""

    db: Database
    settings: Settings
    kb: KnowledgeBase
    governance: Governance
    queue: ReviewQueue
    users: UserStore
    memory_manager: Callable[[], LLM]
    """The model the memory manager asks when a reviewer submits a learning (opened lazily)."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Facts that never change once computed (the KB's size at past versions)."""
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    """Failed logins per account and per address (see :mod:`dissensus.web._throttle`)."""


def deps(request: Request) -> WebDeps:
    """The app's :class:`WebDeps` (a FastAPI dependency)."""
    found: WebDeps = request.app.state.deps
    return found


def render(request: Request, template: str, /, status_code: int = 200, **context: Any) -> Response:
    """Render a template with what every page shows: the user, the CSRF token, messages."""
    user = current_user(request)

    def can(action: Action) -> bool:
        return allowed(user, action)

    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf_token": csrf_token(request),
            "flashes": pop_flashes(request),
            "can": can,
            "mode": deps(request).settings.deployment().mode,
            **context,
        },
        status_code=status_code,
    )


def output_refresh_message(app: WebDeps, run_id: str) -> str:
    """Bring the run's output file up to date after a person changed a record, and say so.

    Where the file lives on the server is the operator's business, not the reviewer's.
    """
    try:
        return refresh_output(app.db, run_id).describe(show_path=False)
    except (DissensusError, OSError) as exc:
        return f"The output file was not rewritten: {exc}"
