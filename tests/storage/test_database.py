"""The database handle: default location, SQLite tuning, write locking, errors."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from dissensus.errors import StorageError
from dissensus.storage import Database, ModelCall, Run, RunProduct
from dissensus.storage.database import BUSY_TIMEOUT_MS


def test_default_url_is_sqlite_file_in_dissensus_home_which_is_created(home: Path) -> None:
    assert not home.exists()
    with Database() as db:
        assert db.url == f"sqlite:///{home / 'dissensus.db'}"
        assert home.is_dir()
        db.migrate()
    assert (home / "dissensus.db").is_file()


def test_explicit_home_wins_over_environment(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    with Database(home=other) as db:
        assert db.url == f"sqlite:///{other / 'dissensus.db'}"


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(home: Path) -> None:
    with Database.open() as db, db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS


def test_write_session_takes_the_write_lock_before_it_writes(home: Path) -> None:
    with Database.open() as db:
        other = sqlite3.connect(home / "dissensus.db", timeout=0, isolation_level=None)
        try:
            with db.write() as session:
                session.execute(select(Run)).all()
                # Only read so far, yet another writer is already locked out: BEGIN IMMEDIATE.
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # released at commit
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_read_session_does_not_block_a_writer(home: Path) -> None:
    with Database.open() as db, db.read() as session:
        session.execute(select(Run)).all()
        with db.write() as writer:
            writer.add(_run("r-1"))
    with db.read() as session:
        assert session.scalars(select(Run.id)).all() == ["r-1"]


def test_migrate_is_idempotent_and_reaches_head(home: Path) -> None:
    with Database() as db:
        assert db.current_revision() is None
        db.migrate()
        db.migrate()
        assert db.current_revision() == db.head_revision() == "0012"
    with Database.open() as again:  # a second process opening the same file
        assert again.current_revision() == "0012"


def test_unusable_url_raises_storage_error_naming_the_fix() -> None:
    with pytest.raises(StorageError, match=r"cannot open database 'nosuchdriver://x'.*driver"):
        Database("nosuchdriver://x")


def test_a_file_path_instead_of_a_url_is_refused_with_the_url_to_write(tmp_path: Path) -> None:
    path = tmp_path / "dissensus.db"
    with pytest.raises(StorageError, match=rf"is not a database URL; .*'sqlite:///{path}'"):
        Database(str(path))


def test_an_unparsable_url_is_reported_without_its_secrets() -> None:
    with pytest.raises(StorageError) as caught:
        Database("postgresql+psycopg://alice:se cret@db.example:notaport/kb")
    assert "se cret" not in str(caught.value)
    assert "cannot open database 'postgresql+psycopg://…'" in str(caught.value)


def test_password_is_hidden_in_repr() -> None:
    db = Database("postgresql+psycopg://alice:secret@db.example/kb")
    try:
        assert "secret" not in repr(db)
        assert "***" in db.safe_url
    finally:
        db.close()


def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.add(_run("r-1"))
        session.flush()
        raise RuntimeError("boom")
    with db.read() as session:
        assert session.scalars(select(Run)).all() == []


def test_run_tables_round_trip_json_and_utc_timestamps(db: Database) -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with db.write() as session:
        session.add(_run("r-1", summary={"products": 2, "f1": 0.5}))
        session.flush()
        session.add_all(
            [
                RunProduct(
                    run_id="r-1",
                    seq=i,
                    product_id=f"p{i}",
                    category="Shoes > Sneakers",
                    output={"id": f"p{i}", "attributes": {"color": "red"}},
                    disputed_attributes=i,
                    supervisor_called=bool(i),
                    input_tokens=10,
                    output_tokens=5,
                    finished_at=local,
                )
                for i in range(2)
            ]
        )
        session.add(
            ModelCall(
                run_id="r-1",
                product_id="p0",
                stage="generator",
                model="scripted:echo",
                requests=2,
                input_tokens=100,
                output_tokens=20,
                latency_ms=12.5,
                ok=False,
            )
        )
    with db.read() as session:
        run = session.get(Run, "r-1")
        assert run is not None
        assert run.config == {"quorum": 2, "models": ["a", "b"]}
        assert run.summary == {"products": 2, "f1": 0.5}
        assert run.created_at.tzinfo is not None and run.finished_at is None
        products = session.scalars(select(RunProduct).order_by(RunProduct.seq)).all()
        assert [p.product_id for p in products] == ["p0", "p1"]
        assert products[1].supervisor_called is True
        assert products[0].output["attributes"] == {"color": "red"}
        assert products[0].finished_at == local
        assert products[0].finished_at.tzinfo == UTC
        call = session.scalars(select(ModelCall)).one()
        assert (call.id, call.requests, call.latency_ms, call.ok) == (1, 2, 12.5, False)


def _run(run_id: str, summary: dict[str, object] | None = None) -> Run:
    return Run(
        id=run_id,
        status="running",
        input_path="/data/in.jsonl",
        input_sha256="0" * 64,
        schema_path="/data/schema.yaml",
        schema_sha256="1" * 64,
        config={"quorum": 2, "models": ["a", "b"]},
        summary=summary,
    )


def test_a_new_sqlite_database_is_readable_by_its_owner_only(home: Path) -> None:
    with Database.open() as db:
        path = Path(db.engine.url.database or "")
        with db.write() as session:
            session.add(
                Run(
                    id="r-1",
                    status="running",
                    input_path="in",
                    input_sha256="x",
                    schema_path="s",
                    schema_sha256="y",
                    config={},
                    output_path="o",
                )
            )
    assert path.stat().st_mode & 0o777 == 0o600
