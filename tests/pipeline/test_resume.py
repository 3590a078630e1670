"""Resume: a killed run continues under the same run id, losing and repeating nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dissensus.errors import RunError
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest, RunSummary
from dissensus.storage import Database

from .conftest import Script, Supervisor, generators, read_output, settings, write_catalog

CHILD = Path(__file__).with_name("_resume_child.py")
PRODUCTS = 40


def catalog(path: Path) -> tuple[Path, list[str]]:
    ids = [f"k{i:02d}" for i in range(PRODUCTS)]
    records: list[dict[str, Any] | str] = [
        {"id": pid, "title": f"Acme Chef Knife {pid}", "category": "Home > Knives"} for pid in ids
    ]
    return write_catalog(path, records), ids


def agreeing(ids: list[str]) -> Script:
    return Script(
        a={f"Acme Chef Knife {pid}": {"Brand": "Acme", "Knife type": "Chef"} for pid in ids}
    )


def start(
    tmp_path: Path,
    name: str,
    catalog_path: Path,
    schema_path: Path,
    *,
    call_seconds: float = 0.02,
) -> subprocess.Popen[str]:
    args = tmp_path / f"{name}.json"
    args.write_text(
        json.dumps(
            {
                "catalog": str(catalog_path),
                "schema": str(schema_path),
                "out": str(tmp_path / "out.jsonl"),
                "run_id": "resumable",
                "calls": str(tmp_path / f"{name}-calls.txt"),
                "call_seconds": call_seconds,
            }
        ),
        encoding="utf-8",
    )
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored(home: Path) -> list[tuple[int, str]]:
    """(seq, product id) of the committed products, read the way another process would."""
    db = home / "dissensus.db"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            rows = connection.execute(
                "SELECT seq, product_id FROM run_products WHERE run_id = 'resumable'"
            ).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    return sorted((int(seq), str(pid)) for seq, pid in rows)


def called_products(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line.split()[1] for line in path.read_text(encoding="utf-8").splitlines()}


def test_a_killed_run_resumes_without_losing_or_repeating_products(
    tmp_path: Path, home: Path, schema_path: Path
) -> None:
    catalog_path, ids = catalog(tmp_path / "catalog.jsonl")

    first = start(tmp_path, "first", catalog_path, schema_path)
    deadline = time.monotonic() + 60
    while len(stored(home)) < 8:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first run made no progress"
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL

    done_before = {pid for _, pid in stored(home)}
    assert 8 <= len(done_before) < PRODUCTS, "the kill must land mid-run"
    out = tmp_path / "out.jsonl"
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    whole_lines = text.split("\n")[:-1]  # a line cut by the kill has no newline yet
    killed_ids = [json.loads(line)["id"] for line in whole_lines]
    assert killed_ids == ids[: len(killed_ids)], "the output is only ever an in-order prefix"

    second = start(tmp_path, "second", catalog_path, schema_path)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    summary = RunSummary.model_validate_json(stdout.strip().splitlines()[-1])

    assert [line["id"] for line in read_output(out)] == ids
    rows = stored(home)
    assert [seq for seq, _ in rows] == list(range(PRODUCTS))
    assert [pid for _, pid in rows] == ids
    assert Counter(pid for _, pid in rows).most_common(1)[0][1] == 1
    # The second process asked the models about exactly the products not committed before.
    assert called_products(tmp_path / "second-calls.txt") == set(ids) - done_before
    assert summary.resumed is True
    assert (summary.products, summary.errors, summary.supervisor_calls) == (40, 0, 8)
    assert summary.statuses == {"consensus": 72, "supervisor": 8}


@pytest.mark.anyio
async def test_starting_a_finished_run_again_calls_no_model_and_rewrites_the_same_output(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    catalog_path, ids = catalog(tmp_path / "catalog.jsonl")
    out = tmp_path / "out.jsonl"
    request = RunRequest(catalog_path, schema_path, out, run_id="again")

    async def run_once() -> tuple[RunSummary, int]:
        gen_a, gen_b = generators(agreeing(ids))
        async with ModelPool() as pool:
            for model in (gen_a, gen_b, Supervisor({}).llm):
                pool.add(model)
            summary = await Runner(settings(), db=db, open_model=pool.get).run(request)
        return summary, len(gen_a.requests) + len(gen_b.requests)

    first, first_calls = await run_once()
    written = out.read_text(encoding="utf-8")
    out.write_text("garbage\n", encoding="utf-8")
    again, again_calls = await run_once()

    assert (first_calls, again_calls) == (2 * PRODUCTS, 0)
    assert out.read_text(encoding="utf-8") == written
    assert (first.resumed, again.resumed) == (False, True)
    assert again.model_dump(exclude={"wall_seconds", "resumed"}) == first.model_dump(
        exclude={"wall_seconds", "resumed"}
    )


@pytest.mark.anyio
@pytest.mark.parametrize("changed", ["input", "schema"])
async def test_resuming_a_run_id_on_other_files_is_refused(
    tmp_path: Path, db: Database, schema_path: Path, changed: str
) -> None:
    catalog_path, ids = catalog(tmp_path / "catalog.jsonl")
    out = tmp_path / "out.jsonl"
    async with ModelPool() as pool:
        for model in (*generators(agreeing(ids)), Supervisor({}).llm):
            pool.add(model)
        runner = Runner(settings(), db=db, open_model=pool.get)
        await runner.run(RunRequest(catalog_path, schema_path, out, run_id="fixed"))
        written = out.read_text(encoding="utf-8")

        if changed == "input":
            other, _ = catalog(tmp_path / "other.jsonl")
            with other.open("a", encoding="utf-8") as fh:
                fh.write('{"id": "k99", "title": "Acme Chef Knife k99", "category": "Home"}\n')
            request = RunRequest(other, schema_path, out, run_id="fixed")
            message = (
                f"run 'fixed' was started on different input ({catalog_path}); "
                "use another --run-id for new input"
            )
        else:
            schema = tmp_path / "schema-v2.yaml"
            schema.write_text(schema_path.read_text(encoding="utf-8") + "# v2\n", encoding="utf-8")
            request = RunRequest(catalog_path, schema, out, run_id="fixed")
            message = (
                f"run 'fixed' was started with a different schema ({schema_path}); "
                "use another --run-id"
            )
        with pytest.raises(RunError) as raised:
            await runner.run(request)

    assert str(raised.value) == message
    assert out.read_text(encoding="utf-8") == written


def test_a_second_process_on_a_running_run_id_refuses_and_loses_nothing(
    tmp_path: Path, home: Path, schema_path: Path
) -> None:
    """Two processes on one run id once crashed both with an IntegrityError; now the second
    refuses with a message naming the first, and the first finishes the run alone."""
    catalog_path, ids = catalog(tmp_path / "catalog.jsonl")
    first = start(tmp_path, "first", catalog_path, schema_path, call_seconds=0.3)
    deadline = time.monotonic() + 60
    while len(stored(home)) < 2:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first run made no progress"
        time.sleep(0.01)
    second = start(tmp_path, "second", catalog_path, schema_path)
    _, stderr = second.communicate(timeout=60)
    assert second.returncode != 0
    assert f"run 'resumable' is running in process {first.pid}" in stderr
    assert "IntegrityError" not in stderr
    assert not called_products(tmp_path / "second-calls.txt"), "the refused process asked nothing"
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert [pid for _, pid in stored(home)] == ids
    # The run ended: its owner is released, so the same id runs again at once (a no-op resume).
    again = start(tmp_path, "again", catalog_path, schema_path)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr


def test_a_run_whose_owner_went_silent_can_be_taken_over(home: Path, db: Database) -> None:
    """Another host's process cannot be asked; after LEASE of silence its run is resumable."""
    from datetime import timedelta

    from dissensus.errors import RunError
    from dissensus.pipeline.store import LEASE, RunOwner, RunStore
    from dissensus.storage.tables import Run, utcnow

    files = {
        "input_path": "in.jsonl",
        "input_sha256": "0" * 64,
        "schema_path": "s.yaml",
        "schema_sha256": "1" * 64,
        "config": {},
    }
    elsewhere = RunOwner("another-host", 4242, "abc")
    assert RunStore(db, "r").open(**files, owner=elsewhere) is False
    with pytest.raises(RunError, match="is running in process 4242 on another-host"):
        RunStore(db, "r").open(**files)
    with db.write() as session:
        run = session.get(Run, "r")
        assert run is not None
        run.heartbeat_at = utcnow() - LEASE - timedelta(seconds=1)
    assert RunStore(db, "r").open(**files) is True
