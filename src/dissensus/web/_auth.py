"""Who may do what in the web app: sessions, the role matrix, CSRF tokens, login dependencies.

The session is a signed cookie (Starlette's ``SessionMiddleware``) holding a session token, a
CSRF token and one-shot messages. The token names a row of ``web_sessions`` (by its hash), and the
session, the user and the role are read from the database on every request: logging out, a new
password, disabling or removing the user end the session at once, and a copied cookie is worth
nothing after that.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Literal

from fastapi import HTTPException, Request

from dissensus.web.users import Role, User, UserStore

__all__ = [
    "CSRF_FIELD",
    "PERMISSIONS",
    "Action",
    "LoginRequired",
    "allowed",
    "check_csrf",
    "csrf_token",
    "current_user",
    "flash",
    "log_in",
    "log_out",
    "pop_flashes",
    "require",
]

Action = Literal[
    "read",
    "approve",
    "reject",
    "edit",
    "add",
    "deprecate",
    "reactivate",
    "review",
    "promote",
    "rollback",
    "import",
    "enrich",
    "users",
]
"""Everything a page or an API call lets a user do; each route names the one it needs."""

_AUTHOR: frozenset[Action] = frozenset(
    {"read", "approve", "reject", "edit", "add", "deprecate", "reactivate", "review", "enrich"}
)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    "viewer": frozenset({"read"}),
    # Reviewers work learnings and review items; publishing to production and rewriting the
    # knowledge base wholesale (rollback, import) stay with admins.
    "reviewer": _AUTHOR,
    "admin": _AUTHOR | {"promote", "rollback", "import", "users"},
}

CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """Raised for a page that needs a login; the app answers with a redirect to ``/login``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def allowed(user: User | None, action: Action) -> bool:
    """True when ``user`` may do ``action``."""
    return user is not None and action in PERMISSIONS[user.role]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) any unsafe request whose form does not carry the session's CSRF token.

    Installed as an app-wide dependency, so no form can forget it.
    """
    if request.method not in _UNSAFE:
        return
    expected = request.session.get("csrf")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(sent, str)
        or not hmac.compare_digest(expected.encode(), sent.encode())
    ):
        raise HTTPException(
            status_code=403,
            detail="CSRF token missing or wrong: reload the page and submit the form again",
        )


def _users(request: Request) -> UserStore:
    store: UserStore = request.app.state.deps.users
    return store


def current_user(request: Request) -> User | None:
    """The logged-in user, or ``None``."""
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    user = _users(request).session_user(token)
    if user is None:  # logged out, expired, or the user was changed, disabled or removed
        request.session.pop("sid", None)
    return user


def require(action: Action) -> Callable[[Request], User]:
    """A dependency giving the logged-in user allowed to do ``action``.

    Anonymous page views redirect to the login page; anonymous writes and users whose role
    does not allow ``action`` get 403.
    """

    def dependency(request: Request) -> User:
        user = current_user(request)
        if user is None:
            if request.method in _UNSAFE:
                raise HTTPException(status_code=403, detail="log in first")
            raise LoginRequired(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
        if not allowed(user, action):
            raise HTTPException(
                status_code=403,
                detail=f"{user.name} is a {user.role}; a {user.role} may not {action}",
            )
        return user

    return dependency


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token; nothing from before carries over)."""
    request.session.clear()
    request.session["sid"] = _users(request).start_session(user)
    request.session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    """End the session, on the server too (a copy of the cookie no longer works)."""
    token = request.session.get("sid")
    if isinstance(token, str):
        _users(request).end_session(token)
    request.session.clear()


def flash(request: Request, text: str, level: Literal["info", "error"] = "info") -> None:
    """Keep a message for the next page the user sees."""
    messages = list(request.session.get("flash", []))
    messages.append([level, text])
    request.session["flash"] = messages[-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    """The pending messages, removed from the session."""
    messages = request.session.pop("flash", [])
    return [(str(level), str(text)) for level, text in messages]
