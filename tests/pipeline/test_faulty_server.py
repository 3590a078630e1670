"""100 products against a server where 20 % of requests fail (500, 429 with Retry-After, hangs,
resets, malformed and off-schema JSON): every product ends with a reason, the run ends within
its bound, and the requests the run counted are the requests the server saw."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dissensus.bench.fake_openai import FakeOpenAI, every, serving
from dissensus.config import GeneratorConfig, Settings
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

FAULTS = ["500", "429", "hang", "reset", "malformed", "offschema"]
PRODUCTS = 100
TIMEOUT = 1.0
RETRIES = 2
BOUND_SECONDS = 150.0
"""Stated bound: with 4 products in flight, a call costs at most (1 + retries) x timeout plus
the SDK's backoff (<= 8 s, or Retry-After), and a product makes at most 4 calls in sequence."""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("plan", "kinds"),
    [
        pytest.param(every(30, FAULTS), set(FAULTS), id="mixed-20pct"),
        # The probe that froze a run: 20 % of requests hang (4 hung calls held every slot).
        pytest.param(every(5, ["hang"]), {"hang"}, id="hangs-20pct"),
    ],
)
def test_a_faulty_server_freezes_nothing_loses_nothing_and_every_request_is_counted(
    tmp_path: Path, plan: Callable[[int], str | None], kinds: set[str]
) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        "".join(
            json.dumps({"id": f"k{i:03d}", "title": f"Acme Chef Knife {i}", "category": "Knives"})
            + "\n"
            for i in range(PRODUCTS)
        )
    )
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "categories:\n  - path: Knives\n    attributes:\n      - name: Brand\n"
        "      - name: Blade length\n"
    )
    state = FakeOpenAI(plan, hang_seconds=TIMEOUT * 3)
    with serving(state):
        settings = Settings(
            generators=[
                GeneratorConfig(model="openai:fake-a"),
                GeneratorConfig(model="openai:fake-b", style="evidence"),
            ],
            evaluator=None,
            supervisor="openai:fake-boss",
            openai_base_url=state.url,
            request_timeout_seconds=TIMEOUT,
            request_retries=RETRIES,
            learning=False,
            lexicon_worker=False,
            concurrency=4,
        )
        out = tmp_path / "out.jsonl"

        async def go() -> tuple[int, int, float]:
            started = time.perf_counter()
            with Database.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as db:
                async with ModelPool(**settings.model_options()) as pool:
                    summary = await Runner(settings, db=db, open_model=pool.get).run(
                        RunRequest(inputs, schema, out, run_id="faulty")
                    )
            return summary.model_requests, summary.products, time.perf_counter() - started

        requests, products, seconds = asyncio.run(go())
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert products == PRODUCTS and len(lines) == PRODUCTS
    assert [line["id"] for line in lines] == [f"k{i:03d}" for i in range(PRODUCTS)]
    # Terminal with a reason: a value, a supervisor decision, a wait for a person, or an error.
    for line in lines:
        for name, attribute in line.get("attributes", {}).items():
            assert attribute["status"] in ("consensus", "supervisor", "needs_review"), (name, line)
        assert line.get("attributes") or line.get("error"), line
    assert seconds < BOUND_SECONDS, f"the run took {seconds:.0f} s"
    assert set(state.faults) == kinds, state.faults
    # Every HTTP attempt is counted, the SDK's retries included (they once went uncounted).
    assert requests == state.requests, (requests, state.requests, dict(state.faults))
    assert sum(state.by_model.values()) == state.requests
