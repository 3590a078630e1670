"""Web users: accounts with a role and an argon2 password hash, stored in the ``users`` table."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal, get_args

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dissensus.errors import ConfigError, MissingExtraError
from dissensus.storage import Database
from dissensus.storage.tables import ApiTokenRow, UserRow, WebSessionRow, utcnow

try:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError
except ImportError as exc:  # pragma: no cover - the web extra brings it
    raise MissingExtraError("web", "the web app (dissensus serve, dissensus users)") from exc

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SESSION_LIFETIME",
    "ApiToken",
    "Role",
    "User",
    "UserStore",
]

Role = Literal["viewer", "reviewer", "admin"]
"""What a user may do in the web app (see ``dissensus.web._auth.PERMISSIONS``)."""

ROLES: tuple[Role, ...] = get_args(Role)

MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 100
SESSION_LIFETIME = timedelta(days=7)
"""A login lasts at most this long, however active."""


class User(BaseModel):
    """A web user as the app sees it: never the password hash."""

    name: str
    role: Role
    created_at: datetime | None = None
    disabled: bool = False


class UserStore:
    """Create users and check their passwords.

    Args:
        db: An open, migrated database.
        hasher: The argon2 hasher (tests may pass cheaper parameters).
    """

    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None) -> None:
        self._db = db
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def add(self, name: str, password: str, role: Role, *, replace: bool = False) -> User:
        """Create a user (or, with ``replace``, set an existing user's password and role).

        Raises:
            ConfigError: The name, role or password is not acceptable, or the user exists
                and ``replace`` is false.
        """
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() for c in name):
            raise ConfigError(
                f"user name {name[:30]!r} must be 1 to {MAX_NAME_LENGTH} characters without spaces"
            )
        if role not in ROLES:
            raise ConfigError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ConfigError(
                f"the password for {name!r} is too short; use at least "
                f"{MIN_PASSWORD_LENGTH} characters"
            )
        password_hash = self._hasher.hash(password)
        with self._db.write() as session:
            row = session.get(UserRow, name)
            if row is not None and not replace:
                raise ConfigError(
                    f"user {name!r} already exists; pass --replace to set a new password and role"
                )
            if row is None:
                row = UserRow(
                    name=name, password_hash=password_hash, role=role, created_at=utcnow()
                )
                session.add(row)
            else:
                row.password_hash, row.role = password_hash, role
                # A new password ends every session made with the old one.
                _end_sessions(session, name)
            session.flush()
            return _user(row)

    def remove(self, name: str) -> None:
        """Delete a user and end their sessions (their names stay in histories they wrote)."""
        with self._db.write() as session:
            row = self._require(session, name)
            _end_sessions(session, row.name)
            session.delete(row)

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable a user (no login, sessions ended) or enable them again."""
        with self._db.write() as session:
            row = self._require(session, name)
            row.disabled = disabled
            if disabled:
                _end_sessions(session, row.name)
            session.flush()
            return _user(row)

    # --- sessions -------------------------------------------------------------------------

    def start_session(self, user: User) -> str:
        """A new session for ``user``; the returned token goes into the cookie, its hash here."""
        token = secrets.token_urlsafe(32)
        with self._db.write() as session:
            session.add(WebSessionRow(id=_digest(token), user_name=user.name, created_at=utcnow()))
        return token

    def session_user(self, token: str) -> User | None:
        """The user of a live session: not ended, not expired, the user still there and enabled."""
        with self._db.read() as session:
            row = session.get(WebSessionRow, _digest(token))
            if row is None or row.ended_at is not None:
                return None
            if utcnow() - row.created_at > SESSION_LIFETIME:
                return None
            user = session.get(UserRow, row.user_name)
            if user is None or user.disabled:
                return None
            return _user(user)

    def end_session(self, token: str) -> None:
        """Log one session out."""
        with self._db.write() as session:
            session.execute(
                update(WebSessionRow)
                .where(WebSessionRow.id == _digest(token), WebSessionRow.ended_at.is_(None))
                .values(ended_at=utcnow())
            )

    def _require(self, session: Session, name: str) -> UserRow:
        row = session.get(UserRow, name.strip())
        if row is None:
            known = ", ".join(u.name for u in self.list()) or "none yet"
            raise ConfigError(f"no user {name.strip()!r}; the users are: {known}")
        return row

    def get(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        with self._db.read() as session:
            row = session.get(UserRow, name)
            return _user(row) if row is not None else None

    def list(self) -> builtins.list[User]:
        """Every user, by name."""
        with self._db.read() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else ``None`` (unknown name or wrong password)."""
        with self._db.read() as session:
            row = session.get(UserRow, name.strip())
            stored = row.password_hash if row is not None else self._dummy_hash()
            # A disabled user is checked like anyone (same timing) and then refused.
            user = _user(row) if row is not None and not row.disabled else None
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is not None and self._hasher.check_needs_rehash(stored):
            with self._db.write() as session:
                fresh = session.get(UserRow, user.name)
                if fresh is not None:
                    fresh.password_hash = self._hasher.hash(password)
        return user

    # --- API tokens -----------------------------------------------------------------------

    def add_token(
        self, user_name: str, label: str, role: Role | None = None
    ) -> tuple[ApiToken, str]:
        """A new token acting as ``user_name`` with ``role`` (default: the user's own).

        Returns the token's listing and the secret, which is shown once and never stored.

        Raises:
            ConfigError: no such user, a disabled one, a role above the user's, or a bad label.
        """
        label = label.strip()
        if not label or len(label) > MAX_NAME_LENGTH:
            raise ConfigError(f"a token label is 1 to {MAX_NAME_LENGTH} characters")
        with self._db.write() as session:
            user = self._require(session, user_name)
            if user.disabled:
                raise ConfigError(f"user {user.name!r} is disabled; enable them first")
            chosen: Role = role or _user(user).role
            if chosen not in ROLES:
                raise ConfigError(f"unknown role {chosen!r}; choose one of {', '.join(ROLES)}")
            if ROLES.index(chosen) > ROLES.index(_user(user).role):
                raise ConfigError(
                    f"a token of {user.name!r} cannot be {chosen}: {user.name} is a {user.role}"
                )
            token_id = secrets.token_hex(4)
            secret = f"dss_{token_id}_{secrets.token_urlsafe(32)}"
            row = ApiTokenRow(
                id=token_id,
                label=label,
                user_name=user.name,
                role=chosen,
                token_hash=_digest(secret),
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _token(row), secret

    def token_user(self, secret: str) -> User | None:
        """The user a live token acts as, with the token's role (``None``: no such token).

        The role is the lower of the token's and the user's current role, so demoting a user
        demotes their tokens; revoking the token, or disabling or removing the user, ends it.
        """
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != "dss":
            return None
        with self._db.write() as session:
            row = session.get(ApiTokenRow, parts[1])
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.token_hash, _digest(secret)):
                return None
            user = session.get(UserRow, row.user_name)
            if user is None or user.disabled:
                return None
            row.last_used_at = utcnow()
            role: Role = min(row.role, user.role, key=ROLES.index)  # type: ignore[arg-type]
            return User(name=user.name, role=role, created_at=user.created_at)

    def tokens(self, user_name: str | None = None) -> builtins.list[ApiToken]:
        """Every token (or one user's), newest first, revoked ones included."""
        query = select(ApiTokenRow).order_by(ApiTokenRow.created_at.desc())
        if user_name is not None:
            query = query.where(ApiTokenRow.user_name == user_name)
        with self._db.read() as session:
            return [_token(r) for r in session.scalars(query)]

    def revoke_token(self, token_id: str) -> ApiToken:
        """End a token at once.

        Raises:
            ConfigError: no token has that id.
        """
        with self._db.write() as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                raise ConfigError(f"no token {token_id!r}; list them with `dissensus tokens list`")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            session.flush()
            return _token(row)

    def _dummy_hash(self) -> str:
        # Verifying against this when the name is unknown keeps login timing the same for
        # unknown names and wrong passwords.
        if self._dummy is None:
            self._dummy = self._hasher.hash("not a real password")
        return self._dummy


class ApiToken(BaseModel):
    """A token as listings show it: never the secret or its hash."""

    id: str
    label: str
    user_name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


def _token(row: ApiTokenRow) -> ApiToken:
    role: Role = row.role  # type: ignore[assignment]
    return ApiToken(
        id=row.id, label=row.label, user_name=row.user_name, role=role,
        created_at=row.created_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at,
    )  # fmt: skip


def _user(row: UserRow) -> User:
    role: Role = row.role  # type: ignore[assignment]
    return User(name=row.name, role=role, created_at=row.created_at, disabled=bool(row.disabled))


def _digest(token: str) -> str:
    # Only the hash is stored: a copy of the database does not log anyone in.
    return hashlib.sha256(token.encode()).hexdigest()


def _end_sessions(session: Session, name: str) -> None:
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.user_name == name, WebSessionRow.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
