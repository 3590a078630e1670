"""Logging in and out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from dissensus.web._auth import current_user, flash, log_in, log_out
from dissensus.web._deps import WebDeps, deps, render

__all__ = ["router"]

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only local paths: a login link must not bounce the user to another site.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


@router.get("/login")
def login_page(
    request: Request, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    """The login form (already logged-in users go on to ``next``)."""
    if current_user(request) is not None:
        return RedirectResponse(_safe_next(next_path), status_code=303)
    return render(request, "login.html", next=_safe_next(next_path))


@router.post("/login")
def login(
    request: Request,
    app: Annotated[WebDeps, Depends(deps)],
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the password; start a session or show the form again with 401 (429 when too many
    attempts failed for this account or from this address)."""
    address = request.client.host if request.client else "?"
    wait = app.throttle.wait(name, address)
    if wait > 0:
        response = render(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next_path),
            name=name,
            error=f"Too many failed logins; try again in {int(wait) + 1} s.",
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = app.users.authenticate(name, password)
    if user is None:
        app.throttle.failed(name, address)
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next_path),
            name=name,
            error="Unknown user or wrong password.",
        )
    app.throttle.succeeded(name)
    log_in(request, user)
    flash(request, f"Logged in as {user.name} ({user.role}).")
    return RedirectResponse(_safe_next(next_path), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session."""
    log_out(request)
    return RedirectResponse("/login", status_code=303)
