"""People and machine clients, for admins: users (add, disable, enable, remove) and API tokens.

The same :class:`~dissensus.web.users.UserStore` calls as ``dissensus users`` and ``dissensus
tokens``; a new token's secret is shown once, on the page that answers its creation, and never
kept anywhere (not in the session cookie either).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from dissensus.errors import DissensusError
from dissensus.web._auth import flash, require
from dissensus.web._deps import WebDeps, deps, render
from dissensus.web.users import ROLES, Role, User

__all__ = ["router"]

router = APIRouter(prefix="/users")

App = Annotated[WebDeps, Depends(deps)]
Admin = Annotated[User, Depends(require("users"))]


def _back() -> Response:
    return RedirectResponse("/users", status_code=303)


def _page(request: Request, app: WebDeps, **extra: Any) -> Response:
    return render(
        request,
        "users.html",
        users=app.users.list(),
        tokens=app.users.tokens(),
        roles=ROLES,
        **extra,
    )


@router.get("")
def users_page(request: Request, user: Admin, app: App) -> Response:
    """Every user and token, with the forms that change them."""
    return _page(request, app)


@router.post("")
def add_user(
    request: Request,
    user: Admin,
    app: App,
    name: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form()],
) -> Response:
    """Create a user (the password is typed by the admin and told to the person)."""
    try:
        added = app.users.add(name, password, role)
        flash(request, f"Added {added.name} ({added.role}).")
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back()


@router.post("/{name}/{action}")
def change_user(request: Request, name: str, action: str, user: Admin, app: App) -> Response:
    """Disable, enable or remove a user; their sessions end at once (not one's own account)."""
    if action not in ("disable", "enable", "remove"):
        flash(request, f"unknown action {action!r}", "error")
        return _back()
    if name == user.name and action != "enable":
        flash(request, "You cannot disable or remove your own account here.", "error")
        return _back()
    try:
        if action == "remove":
            app.users.remove(name)
            flash(request, f"Removed {name}; their sessions and tokens have ended.")
        else:
            app.users.set_disabled(name, action == "disable")
            flash(request, f"{'Disabled' if action == 'disable' else 'Enabled'} {name}.")
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back()


@router.post("/tokens")
def add_token(
    request: Request,
    user: Admin,
    app: App,
    label: Annotated[str, Form()],
    owner: Annotated[str, Form()],
    role: Annotated[Role, Form()],
) -> Response:
    """Create a token and show its secret on this page only."""
    try:
        token, secret = app.users.add_token(owner, label, role)
    except DissensusError as exc:
        flash(request, str(exc), "error")
        return _back()
    return _page(request, app, new_token=token, secret=secret)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, user: Admin, app: App) -> Response:
    try:
        token = app.users.revoke_token(token_id)
        flash(request, f"Revoked token {token.id} ({token.label}).")
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back()
