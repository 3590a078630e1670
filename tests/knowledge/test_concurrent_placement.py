"""Several processes placing the same learnings at once add each one once (two runs on one
SQLite home once produced 8 pairs of identical active learnings)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from dissensus.knowledge import KnowledgeBase
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

from ._place_child import VALUES

CHILD = Path(__file__).with_name("_place_child.py")
PG_URL = os.environ.get("DISSENSUS_TEST_PG_URL")
PROCESSES = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("set DISSENSUS_TEST_PG_URL=postgresql+psycopg://... to run on PostgreSQL")
        with scratch_database(tmp_path, url=PG_URL):
            pass
        return PG_URL
    with scratch_database(tmp_path) as db:
        return str(db.url)


def test_racing_processes_add_every_value_learning_once(url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(CHILD.parents[2])}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.knowledge._place_child", url],
            cwd=CHILD.parents[2],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    with Database.open(url) as db:
        learnings = KnowledgeBase(db).list(kind="value")
    counts = Counter(lr.values["Brand"] for lr in learnings)
    assert sorted(counts) == VALUES
    assert set(counts.values()) == {1}, counts
