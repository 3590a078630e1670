"""Concurrent claims from several threads and several processes never hand out an item twice,
and concurrent changes to one record lose nothing.

Each test prints one line with its numbers (items, claimers, duplicates, time) and records them
as junit properties, so they can be quoted: ``pytest tests/review/test_concurrency.py -s``.
On PostgreSQL too when ``DISSENSUS_TEST_PG_URL`` is set.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dissensus.domain import AttributeResult, EnrichedRecord
from dissensus.review import ReviewQueue, restore, value_history
from dissensus.storage import Database
from dissensus.storage.tables import RunProduct

from .conftest import add_run, seed

ITEMS = 300
THREADS = 8
PROCESSES = 4

CLAIMER = """
import json, sys, time
from pathlib import Path
from dissensus.review import ReviewQueue
from dissensus.storage import Database

url, home, name, gate = sys.argv[1] or None, Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
db = Database.open(url, home=home)
queue = ReviewQueue(db)
claimed = []
# Start together: imports take seconds, and a head start would claim everything alone.
(gate / name).touch()
while not (gate / "go").exists():
    time.sleep(0.005)
began = time.time()
while (item := queue.claim_next(reviewer=name)) is not None:
    claimed.append(item.id)
ended = time.time()
db.close()
print(json.dumps({"claimed": claimed, "began": began, "ended": ended}))
"""


def report(
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
    *,
    kind: str,
    dialect: str,
    claimers: int,
    claimed: list[list[int]],
    seconds: float,
    claiming_seconds: float | None = None,
) -> int:
    every = [item for part in claimed for item in part]
    duplicates = sum(n - 1 for n in Counter(every).values())
    numbers = {
        "dialect": dialect,
        "claimers": f"{claimers} {kind}",
        "items": ITEMS,
        "claimed": len(every),
        "per_claimer": [len(part) for part in claimed],
        "duplicates": duplicates,
        "seconds": round(seconds, 2),
    }
    if claiming_seconds is not None:
        # Processes spend most of their time importing; this is the span of the claiming.
        numbers["claiming_seconds"] = round(claiming_seconds, 2)
    for key, value in numbers.items():
        record_property(key, value)
    with capsys.disabled():
        print(f"\nreview queue concurrency: {json.dumps(numbers)}")
    return duplicates


def test_threads_never_claim_the_same_item(
    db: Database,
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = seed(db, ITEMS)
    claimed: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def claim(i: int) -> None:
        queue = ReviewQueue(db)
        try:
            start.wait()
            while (item := queue.claim_next(reviewer=f"t{i}")) is not None:
                claimed[i].append(item.id)
        except BaseException as exc:  # collected: an assert in a thread would be lost
            errors.append(exc)

    began = time.perf_counter()
    pool = [threading.Thread(target=claim, args=(i,)) for i in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - began
    assert errors == []
    every = [item for part in claimed for item in part]
    duplicates = report(
        record_property,
        capsys,
        kind="threads",
        dialect=db.engine.dialect.name,
        claimers=THREADS,
        claimed=claimed,
        seconds=seconds,
    )
    assert duplicates == 0
    assert sorted(every) == sorted(ids)
    assert sum(1 for part in claimed if part) > 1  # the claimers really did compete


def test_processes_never_claim_the_same_item(
    db: Database,
    home: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = seed(db, ITEMS)
    url = "" if db.is_sqlite else db.url
    gate = tmp_path / "gate"
    gate.mkdir()
    began = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, url, str(home), f"p{i}", str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    deadline = time.monotonic() + 120
    while len(list(gate.iterdir())) < PROCESSES and time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            break  # one died: its stderr is reported below
        time.sleep(0.01)
    (gate / "go").touch()
    answers = []
    errors = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=300)
        if worker.returncode:
            errors.append(stderr)
        else:
            answers.append(json.loads(stdout.splitlines()[-1]))
    seconds = time.perf_counter() - began
    assert errors == []
    claimed: list[list[int]] = [answer["claimed"] for answer in answers]
    window = max(a["ended"] for a in answers) - min(a["began"] for a in answers)
    every = [item for part in claimed for item in part]
    duplicates = report(
        record_property,
        capsys,
        kind="processes",
        dialect=db.engine.dialect.name,
        claimers=PROCESSES,
        claimed=claimed,
        seconds=seconds,
        claiming_seconds=window,
    )
    assert duplicates == 0
    assert sorted(every) == sorted(ids)
    assert sum(1 for part in claimed if part) > 1  # the claimers really did compete


ATTRIBUTES_PER_RECORD = 6
ROUNDS = 15


def test_concurrent_restores_on_one_record_lose_no_value_and_no_change(db: Database) -> None:
    """Each thread restores its own attribute of the same record, over and over.

    A restore reads the stored record, changes one attribute and writes the whole record back;
    without the row lock two of them read the same version and the later write undoes the
    earlier one (a lost update, silently, with its history row still written).
    """
    names = [f"A{i}" for i in range(ATTRIBUTES_PER_RECORD)]
    add_run(db)
    record = EnrichedRecord(
        id="k0",
        category="Home > Knives",
        attributes={
            name: AttributeResult(value=None, status="needs_review", confidence=0.0)
            for name in names
        },
    )
    with db.write() as session:
        session.add(
            RunProduct(
                run_id="r1", seq=0, product_id="k0", category="Home > Knives",
                output=record.model_dump(mode="json"), disputed_attributes=1,
                supervisor_called=True, input_tokens=0, output_tokens=0,
            )
        )  # fmt: skip
    errors: list[BaseException] = []
    start = threading.Barrier(len(names))

    def restorer(name: str) -> None:
        try:
            start.wait()
            for n in range(ROUNDS):
                restore(db, "r1", 0, name, f"{name}-{n}", actor=f"person-{name}")
        except BaseException as exc:  # collected: an assert in a thread would be lost
            errors.append(exc)

    pool = [threading.Thread(target=restorer, args=(name,)) for name in names]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    with db.read() as session:
        stored = session.get(RunProduct, ("r1", 0))
        assert stored is not None
        final = EnrichedRecord.model_validate(stored.output)
    assert {name: final.attributes[name].value for name in names} == {
        name: f"{name}-{ROUNDS - 1}" for name in names
    }
    changes = value_history(db, "r1", 0)
    assert len(changes) == len(names) * ROUNDS
    for name in names:  # every change of an attribute starts from the value before it
        mine = [c for c in changes if c.attribute == name]
        assert [c.after_value for c in mine] == [f"{name}-{n}" for n in range(ROUNDS)]
        assert [c.before_value for c in mine] == [None, *(f"{name}-{n}" for n in range(ROUNDS - 1))]
