"""The FastAPI application: middleware, the app-wide CSRF guard, error pages, the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.base import RequestResponseEndpoint
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response

from dissensus.config import Settings
from dissensus.errors import ConfigError
from dissensus.knowledge import Governance, KnowledgeBase
from dissensus.llm import LLM, ModelPool
from dissensus.review import ReviewQueue
from dissensus.storage import Database
from dissensus.web import (
    _pages_auth,
    _pages_dashboard,
    _pages_knowledge,
    _pages_ops,
    _pages_records,
    _pages_review,
    _pages_users,
)
from dissensus.web._auth import LoginRequired, check_csrf
from dissensus.web._deps import WebDeps, render
from dissensus.web.api import API_PREFIX, create_api
from dissensus.web.users import UserStore

__all__ = ["SESSION_COOKIE", "WebDeps", "create_app"]

SESSION_COOKIE = "dissensus_session"
SESSION_MAX_AGE = 12 * 3600
"""A login lasts a working day."""
MIN_SECRET_LENGTH = 32


def create_app(
    settings: Settings,
    *,
    secret_key: str,
    db: Database | None = None,
    memory_manager: LLM | None = None,
    users: UserStore | None = None,
    https_only: bool = False,
) -> FastAPI:
    """Build the web app over the database the settings point at.

    Args:
        settings: Where the database is, the deployment mode, the memory-manager model, the
            review claim timeout.
        secret_key: Signs the session cookies; at least 32 characters, kept secret and stable
            across restarts (``dissensus serve`` keeps one in ``$DISSENSUS_HOME``).
        db: An open, migrated database to use instead of opening ``settings``' one.
        memory_manager: The model that places a learning a reviewer submits; default: the
            settings' memory-manager model, opened on first use.
        users: The user store to log in against (default: one over ``db`` hashing with
            argon2's default parameters).
        https_only: Send the session cookie over HTTPS only (set it behind TLS).
    """
    if len(secret_key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"the session secret must be at least {MIN_SECRET_LENGTH} characters; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    database = db or Database.open(settings.database_url, home=settings.home)
    kb = KnowledgeBase(database)
    pool = ModelPool(**settings.model_options())

    def open_memory_manager() -> LLM:
        return memory_manager or pool.get(settings.memory_manager_model())

    deps = WebDeps(
        db=database,
        settings=settings,
        kb=kb,
        governance=Governance(kb, settings.deployment()),
        queue=ReviewQueue.from_settings(database, settings),
        users=users or UserStore(database),
        memory_manager=open_memory_manager,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await pool.aclose()

    app = FastAPI(
        title="dissensus",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Every unsafe request, on every route, must carry the session's CSRF token.
        dependencies=[Depends(check_csrf)],
    )
    app.state.deps = deps
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=https_only,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    # The JSON API: token auth, no cookies, so the app-wide CSRF check does not apply to it.
    app.mount(API_PREFIX, create_api(deps, pool), name="api")
    for module in (
        _pages_auth,
        _pages_dashboard,
        _pages_knowledge,
        _pages_review,
        _pages_records,
        _pages_users,
        _pages_ops,
    ):
        app.include_router(module.router)
    _install_error_pages(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self'; style-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        return response

    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return render(request, "error.html", status_code=exc.status_code, message=exc.detail)
