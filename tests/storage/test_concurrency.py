"""Several processes and threads writing one SQLite file: no "database is locked" errors."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, select

from dissensus.storage import Database, KbEvent

# Each transaction reads and then writes: the pattern that fails at once with "database is
# locked" under deferred transactions, and that BEGIN IMMEDIATE serializes.
WRITER = """
import sys
from pathlib import Path
from sqlalchemy import func, select
from dissensus.storage import Database, KbEvent

db = Database.open(home=Path(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    with db.write() as session:
        seen = session.scalar(select(func.count()).select_from(KbEvent))
        session.add(KbEvent(actor=sys.argv[2], op="test", reason=str(seen)))
db.close()
"""


def _reasons(db: Database) -> list[int]:
    with db.read() as session:
        return sorted(int(r) for r in session.scalars(select(KbEvent.reason)))


def test_processes_migrate_and_write_one_sqlite_file_concurrently(tmp_path: Path) -> None:
    processes, each = 4, 40
    # Started on a database that does not exist yet, so the migrations race as well.
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"p{i}", str(each)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    errors = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        if worker.returncode:
            errors.append(stderr)
    assert errors == []
    with Database(home=tmp_path) as db:
        # Every transaction saw all the ones committed before it: writes were serialized.
        assert _reasons(db) == list(range(processes * each))


def test_threads_write_one_sqlite_file_concurrently(tmp_path: Path) -> None:
    threads, each = 8, 25
    errors: list[BaseException] = []
    with Database.open(home=tmp_path) as db:

        def write(name: str) -> None:
            try:
                for _ in range(each):
                    with db.write() as session:
                        seen = session.scalar(select(func.count()).select_from(KbEvent))
                        session.add(KbEvent(actor=name, op="test", reason=str(seen)))
            except BaseException as exc:  # collected: an assert in a thread would be lost
                errors.append(exc)

        pool = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert errors == []
        assert _reasons(db) == list(range(threads * each))
