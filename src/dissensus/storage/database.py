"""The database handle: engine, sessions, SQLite tuning and migrations to head.

SQLite under ``$DISSENSUS_HOME`` is the embedded default; any SQLAlchemy URL (PostgreSQL for
teams and several machines) works the same way. Several processes may write one SQLite file:
WAL lets readers run beside the writer, ``busy_timeout`` makes a writer wait instead of failing,
and writers take the write lock up front with ``BEGIN IMMEDIATE``. A deferred transaction that
reads and then writes can fail at once with "database is locked" when another writer committed
in between (SQLite cannot wait there without risking a deadlock), so write sessions never start
deferred.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dissensus.errors import StorageError

__all__ = ["DEFAULT_HOME", "Database", "resolve_home"]

DEFAULT_HOME = Path("~/.dissensus")
"""Where dissensus keeps its database when ``DISSENSUS_HOME`` is not set."""

DB_FILENAME = "dissensus.db"
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before giving up (30 s covers long batches)."""

_MIGRATIONS = Path(__file__).parent / "migrations"
_BEGIN_OPTION = "dissensus_sqlite_begin"


def resolve_home(home: Path | None = None) -> Path:
    """Return the dissensus home directory (argument, ``$DISSENSUS_HOME``, or ``~/.dissensus``).

    The directory is created if it does not exist.
    """
    if home is None:
        env = os.environ.get("DISSENSUS_HOME")
        home = Path(env) if env else DEFAULT_HOME
    home = home.expanduser()
    try:
        # Private: it holds the database (password hashes) and the web app's secret key.
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the dissensus home {str(home)!r} ({exc}); "
            "set DISSENSUS_HOME to a writable directory"
        ) from exc
    return home


def _install_sqlite_hooks(engine: Engine) -> None:
    """Take transaction control from pysqlite and tune each new connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own implicit BEGIN would be deferred and skips SELECTs; we emit BEGIN
        # ourselves in the "begin" hook so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # NORMAL is durable across application crashes in WAL mode and much faster.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An open dissensus database: one engine, and sessions for reading and for writing.

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg://user@host/db``). ``None`` means the
            SQLite file ``dissensus.db`` in the dissensus home.
        home: The dissensus home, overriding ``$DISSENSUS_HOME`` (used for the default URL).

    Opening does not touch the schema; call :meth:`migrate` (or use :meth:`open`) first.
    """

    def __init__(self, url: str | None = None, *, home: Path | None = None) -> None:
        if url is None:
            url = f"sqlite:///{resolve_home(home) / DB_FILENAME}"
        self.url = url
        if "://" not in url:  # a path given where a URL belongs: SQLAlchemy's message is opaque
            raise StorageError(
                f"{url!r} is not a database URL; a SQLite file is written "
                f"'sqlite:///{Path(url).expanduser().resolve()}', PostgreSQL "
                "'postgresql+psycopg://user@host/db'"
            )
        try:
            parsed = make_url(url)
            _create_private(parsed.database if parsed.get_backend_name() == "sqlite" else None)
            self.engine: Engine = create_engine(parsed, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:  # ValueError: a bad port
            raise StorageError(
                f"cannot open database {self.safe_url!r}: {exc}; check the URL and that its "
                "driver is installed (PostgreSQL: pip install 'psycopg[binary]')"
            ) from exc
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
            # Shares the pool and the hooks; only the BEGIN mode differs.
            self._write_engine: Engine = self.engine.execution_options(
                **{_BEGIN_OPTION: "IMMEDIATE"}
            )
        else:
            self._write_engine = self.engine
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._migrated = False

    @classmethod
    def open(cls, url: str | None = None, *, home: Path | None = None) -> Database:
        """Open the database and migrate it to the latest schema: what a run or a front uses."""
        db = cls(url, home=home)
        db.migrate()
        return db

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages and logs (an unparsable one is
        named by its scheme only: it may hold a password in a form we cannot find)."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            return self.url.split("://", 1)[0] + "://…"

    # --- sessions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``, so keep it short: other
        writers wait for it.
        """
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only; it never blocks writers (WAL) and is rolled back."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    # --- schema ---------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        """An Alembic configuration pointing at the packaged migrations (no alembic.ini)."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        # Alembic interpolates '%' in options; the URL is only informative since env.py is
        # handed a live connection.
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def migrate(self) -> None:
        """Upgrade the schema to the latest revision; a no-op when it is already there."""
        if self._migrated:
            return
        config = self.alembic_config()
        try:
            # One write transaction: concurrent processes migrating the same SQLite file queue
            # up behind BEGIN IMMEDIATE and the later ones find the schema at head already.
            with self._write_engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StorageError(
                f"cannot migrate database {self.safe_url!r}: {exc}; check that it is a dissensus "
                "database and that this process may write it"
            ) from exc
        self._migrated = True

    def current_revision(self) -> str | None:
        """The schema revision the database is at (``None`` before the first migration)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        """The latest revision shipped with this version of dissensus."""
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives its WAL files the same
    mode). An existing file keeps the mode its owner chose."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process created it meanwhile
