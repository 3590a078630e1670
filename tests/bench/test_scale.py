"""``dissensus bench scale``: the full loop against the fake provider in its own process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.bench.fake_openai import FakeOpenAI
from dissensus.bench.scale import ScaleConfig, run_scale, write_scale_report
from dissensus.cli import app


def test_a_small_scale_run_counts_products_cpu_requests_and_supervisor_calls(
    tmp_path: Path,
) -> None:
    config = ScaleConfig(
        products=12, concurrency=[2, 4], latency_seconds=0.0, disagree=0.5, profile=True
    )
    report = run_scale(config)
    assert [p.concurrency for p in report.points] == [2, 4]
    for point in report.points:
        assert (point.products, point.errors) == (12, 0)
        # Two generators and the evaluator per product, and the supervisor on each dispute.
        assert point.requests >= 3 * 12 + point.supervisor_calls
        assert point.supervisor_calls > 0 and point.cpu_seconds > 0
    assert report.profile_top and report.profile_top[0].lstrip().startswith("ncalls")
    data = json.loads(write_scale_report(report, tmp_path).read_text())
    assert data["points"][0]["cpu_ms_per_product"] > 0


def test_the_fake_provider_holds_its_rate_limit_with_429s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dissensus.bench.fake_openai as fake

    clock = iter([100.1, 100.2, 100.3, 100.4, 100.5, 101.0])
    monkeypatch.setattr(fake.time, "monotonic", lambda: next(clock))
    state = FakeOpenAI(rps_limit=2)
    faults = [state.next()[1] for _ in range(5)]  # within one second
    assert faults[:2] == [None, None] and set(faults[2:]) == {"429"}
    assert state.limited == 3
    assert state.next()[1] is None  # the next second has room again


def test_the_cli_rejects_a_bad_concurrency_list() -> None:
    result = CliRunner().invoke(app, ["bench", "scale", "--concurrency", "4,x"])
    assert result.exit_code == 2


def test_the_cli_prints_the_report_as_one_json_object(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "scale", "--products", "4", "--concurrency", "2", "--latency", "0",
         "--json", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("{")]
    data = json.loads(line)
    assert [(p["concurrency"], p["products"], p["errors"]) for p in data["points"]] == [(2, 4, 0)]
    assert data["points"][0]["products_per_second"] > 0
    # The file and the printed object are the same report.
    assert json.loads((tmp_path / "scale.json").read_text()) == data


def test_the_fake_provider_does_not_outlive_a_killed_benchmark() -> None:
    # A benchmark killed with SIGKILL runs no cleanup; its provider must still go.
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "from dissensus.bench.scale import fake_server\n"
        "import time\n"
        "with fake_server(0.0, 0.0) as (url, proc):\n"
        "    print(proc.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    bench = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert bench.stdout is not None
    provider = int(bench.stdout.readline())
    os.kill(bench.pid, signal.SIGKILL)
    bench.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(provider, 0)
        except ProcessLookupError:
            return
        # A zombie of a dead parent is reaped by init; /proc says whether it still runs.
        try:
            with open(f"/proc/{provider}/stat", encoding="utf-8") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.1)
    os.kill(provider, signal.SIGKILL)
    raise AssertionError("the fake provider outlived its benchmark")
