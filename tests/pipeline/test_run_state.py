"""A run whose process is gone reads as ``stopped``, not ``running`` forever."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from dissensus.pipeline.store import LEASE, RunOwner, run_state
from dissensus.storage.tables import Run, utcnow


def _run(status: str, owner: str | None, beat_ago: timedelta = timedelta(0)) -> Run:
    return Run(id="r", status=status, owner=owner, heartbeat_at=utcnow() - beat_ago)


def test_a_running_run_without_a_live_owner_is_stopped() -> None:
    host = socket.gethostname()[:120]
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)  # the child has exited: its pid names no process now
    me = str(RunOwner(host, os.getpid(), "t"))
    assert run_state(_run("running", me)) == "running"
    assert run_state(_run("running", f"{host}:{dead_pid}:t")) == "stopped"
    # Released (the runner clears the owner when it stops, failing or not), or silent too long.
    assert run_state(_run("running", None)) == "stopped"
    assert run_state(_run("running", me, LEASE + timedelta(seconds=5))) == "stopped"
    assert run_state(_run("completed", None)) == "completed"
