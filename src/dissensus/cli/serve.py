"""``dissensus serve`` and ``dissensus users``: run the web app and manage who may log in."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from dissensus.cli._common import console, err_console, friendly_errors, open_database
from dissensus.config import Settings
from dissensus.errors import MissingExtraError
from dissensus.storage import resolve_home

if TYPE_CHECKING:
    from dissensus.web import UserStore

__all__ = ["SECRET_ENV", "SECRET_FILE", "serve", "tokens_app", "users_app"]

SECRET_ENV = "DISSENSUS_SECRET_KEY"
SECRET_FILE = "web-secret"
"""Kept in ``$DISSENSUS_HOME`` when ``DISSENSUS_SECRET_KEY`` is not set, so logins survive a
restart."""

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML settings file (deployment mode, memory-manager model)."
    ),
]

users_app = typer.Typer(help="Manage who may log in to the web app.", no_args_is_help=True)


def _web() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        import dissensus.web.users  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("web", "the web app (dissensus serve, dissensus users)") from exc


def _secret(home: Path) -> str:
    """The session signing key: ``$DISSENSUS_SECRET_KEY``, else one kept in the home."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env
    path = home / SECRET_FILE
    if not path.exists():
        # Created private: anyone who reads it can forge a login.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


@friendly_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8000,
    https_only: Annotated[
        bool,
        typer.Option("--https-only", help="Send the session cookie over HTTPS only (behind TLS)."),
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Run the web app: dashboard, knowledge base, history and diff, review queue."""
    _web()
    import uvicorn

    from dissensus.web import UserStore, create_app

    settings = Settings.load(config, database_url=db)
    database = open_database(settings)
    if not UserStore(database).list():
        err_console.print(
            "No users yet: nobody can log in. Add one with "
            "`dissensus users add NAME --role admin`.",
            highlight=False,
        )
    app = create_app(
        settings,
        secret_key=_secret(resolve_home(settings.home)),
        db=database,
        https_only=https_only,
    )
    console.print(
        f"dissensus web app on http://{escape(host)}:{port} (database {escape(database.safe_url)})",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)


@users_app.command("add")
@friendly_errors
def add(
    name: Annotated[str, typer.Argument(help="Login name (no spaces).")],
    role: Annotated[
        str, typer.Option("--role", "-r", help="viewer (reads), reviewer (reviews), or admin.")
    ] = "viewer",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Set a new password and role for an existing user.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create a web user (the password is asked for, or read with --password-stdin)."""
    _web()
    from dissensus.web import ROLES, UserStore

    if role not in ROLES:
        raise typer.BadParameter(
            f"unknown role {role!r}; choose one of {', '.join(ROLES)}", param_hint="--role"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = UserStore(open_database(Settings.load(config, database_url=db)))
    user = store.add(name, password, role, replace=replace)
    verb = "Updated" if replace else "Added"
    console.print(f"{verb} user {escape(user.name)} ({user.role}).", highlight=False)


@users_app.command("list")
@friendly_errors
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one user each.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Every web user and their role."""
    _web()
    from dissensus.web import UserStore

    users = UserStore(open_database(Settings.load(config, database_url=db))).list()
    if as_json:
        for user in users:
            typer.echo(user.model_dump_json())
        return
    if not users:
        console.print("No users. Add one with `dissensus users add NAME --role admin`.")
    for user in users:
        state = "\tdisabled" if user.disabled else ""
        console.print(f"{escape(user.name)}\t{user.role}{state}", highlight=False)


def _users_store(config: Path | None, db: str | None) -> UserStore:
    """The user store of the configured database (the web extra is needed for its hashes)."""
    _web()
    from dissensus.web import UserStore

    return UserStore(open_database(Settings.load(config, database_url=db)))


@users_app.command("remove")
@friendly_errors
def remove(
    name: Annotated[str, typer.Argument(help="The user to delete.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Delete a web user; their sessions end at once (histories keep their name)."""
    _users_store(config, db).remove(name)
    console.print(f"Removed user {escape(name)}; their sessions have ended.", highlight=False)


@users_app.command("disable")
@friendly_errors
def disable(
    name: Annotated[str, typer.Argument(help="The user who may no longer log in.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Stop a user from logging in and end their sessions (`enable` lets them in again)."""
    _users_store(config, db).set_disabled(name, True)
    console.print(f"Disabled user {escape(name)}; their sessions have ended.", highlight=False)


@users_app.command("enable")
@friendly_errors
def enable(
    name: Annotated[str, typer.Argument(help="A disabled user to let in again.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Let a disabled user log in again."""
    _users_store(config, db).set_disabled(name, False)
    console.print(f"Enabled user {escape(name)}.", highlight=False)


tokens_app = typer.Typer(
    help="API tokens: machine clients of /api/v1 act as a user.", no_args_is_help=True
)


@tokens_app.command("add")
@friendly_errors
def add_token(
    label: Annotated[str, typer.Argument(help="What the token is for (e.g. 'catalog-sync').")],
    user: Annotated[str, typer.Option("--user", "-u", help="The user the token acts as.")],
    role: Annotated[
        str | None,
        typer.Option("--role", "-r", help="viewer, reviewer or admin; at most the user's role."),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create a token; it is printed once (only its hash is kept)."""
    if role is not None and role not in ("viewer", "reviewer", "admin"):
        raise typer.BadParameter(
            f"unknown role {role!r}; choose viewer, reviewer or admin", param_hint="--role"
        )
    token, secret = _users_store(config, db).add_token(user, label, role)  # type: ignore[arg-type]
    err_console.print(
        f"Token {escape(token.id)} for {escape(token.user_name)} ({token.role}); it is shown "
        "once, keep it now:",
        highlight=False,
    )
    typer.echo(secret)


@tokens_app.command("list")
@friendly_errors
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Every token, newest first: id, label, user, role, last use, revoked."""
    tokens = _users_store(config, db).tokens(user)
    for token in tokens:
        if as_json:
            typer.echo(token.model_dump_json())
            continue
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        state = f"\trevoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else ""
        console.print(
            f"{token.id}\t{escape(token.label)}\t{escape(token.user_name)}\t{token.role}\t"
            f"{used}{state}",
            highlight=False,
        )
    if not tokens and not as_json:
        console.print("No tokens. Create one with `dissensus tokens add LABEL --user NAME`.")


@tokens_app.command("revoke")
@friendly_errors
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (see `dissensus tokens list`).")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """End a token at once."""
    token = _users_store(config, db).revoke_token(token_id)
    console.print(f"Revoked token {token.id} ({escape(token.label)}).", highlight=False)
