"""The call log: every model call of a run kept with its own latency, prompt and answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dissensus.cli import app
from dissensus.config import CallLogSettings
from dissensus.llm.testing import ScriptedLLM
from dissensus.observability import CallLog
from dissensus.storage import Database

from .conftest import Script, Supervisor, resolution, settings
from .test_runner import AGREED, K1, K1_DISPUTED, K2, LESSON, run

pytestmark = pytest.mark.anyio


async def _run_k1_k2(tmp_path: Path, db: Database, schema_path: Path, **overrides: Any) -> Any:
    script = Script(a=AGREED, b=K1_DISPUTED)
    gen_a = ScriptedLLM("scripted:gen-a", script.answer("a"), delay_seconds=0.4)
    gen_b = ScriptedLLM("scripted:gen-b", script.answer("b"))
    supervisor = Supervisor({K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)})
    summary, out = await run(
        tmp_path, db, schema_path, [K1, K2], [gen_a, gen_b, supervisor.llm], settings(**overrides)
    )
    return summary, out, gen_a, supervisor


async def test_each_call_is_logged_with_its_own_latency_role_and_the_prompt_it_was_sent(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    summary, out, gen_a, supervisor = await _run_k1_k2(tmp_path, db, schema_path)
    calls = CallLog(db).calls(limit=None, run_id="r1")

    # Two generator calls per product and the supervisor's on k1's dispute.
    assert sorted((c.product_id, c.role) for c in calls) == [
        ("k1", "generator-a"),
        ("k1", "generator-b"),
        ("k1", "supervisor"),
        ("k2", "generator-a"),
        ("k2", "generator-b"),
    ]
    assert sum(c.requests for c in calls) == summary.model_requests
    assert sum(c.input_tokens for c in calls) == summary.input_tokens
    # The two generators ran side by side: each keeps its own time, not the pair's. Compared
    # per product, not against a fixed bound: on a loaded machine even an instant call can take
    # a while (one took 0.64 s in a full `make test`), but never as long as its 0.4 s partner.
    slow = {c.product_id: c.latency_s for c in calls if c.role == "generator-a"}
    fast = {c.product_id: c.latency_s for c in calls if c.role == "generator-b"}
    assert min(slow.values()) >= 0.4
    assert all(fast[p] < slow[p] for p in slow), (slow, fast)
    # The stored supervisor value came from this call, and the log holds its exact prompt.
    assert out[0]["attributes"]["Brand"] == {
        **out[0]["attributes"]["Brand"],
        "status": "supervisor",
    }
    sup = next(c for c in calls if c.role == "supervisor")
    assert (sup.seq, sup.ok) == (0, True)
    assert sup.prompt == supervisor.cases[0].prompt
    assert sup.system == supervisor.cases[0].system
    assert "Acme" in (sup.response or "")
    first = next(c for c in calls if c.role == "generator-a" and c.product_id == "k1")
    assert first.prompt == gen_a.requests[0].prompt


async def test_logs_command_prints_the_prompt_and_filters_by_run_role_and_product(
    tmp_path: Path, db: Database, schema_path: Path, home: Path
) -> None:
    _, _, _, supervisor = await _run_k1_k2(tmp_path, db, schema_path)
    runner = CliRunner()
    result = runner.invoke(app, ["logs", "--run", "r1", "--role", "supervisor", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["product_id"], x["role"]) for x in lines] == [("k1", "supervisor")]
    assert lines[0]["prompt"] == supervisor.cases[0].prompt

    result = runner.invoke(app, ["logs", "-n", "0", "--product", "k2", "--role", "generator"])
    assert result.exit_code == 0, result.output
    assert (
        sum(line.startswith("## ") for line in result.output.splitlines()) == 2
        and "### Prompt" in result.output
    )
    assert "generator-a · scripted:gen-a" in result.output

    short = runner.invoke(app, ["logs", "-n", "1", "--short"])
    assert short.exit_code == 0 and len(short.output.splitlines()) == 1

    none = runner.invoke(app, ["logs", "--run", "r1", "--product", "nope"])
    assert (none.exit_code, none.output.strip()) == (0, "no model calls match")
    mistyped = runner.invoke(app, ["logs", "--run", "nope"])  # an error, not "no calls"
    assert mistyped.exit_code == 1
    assert mistyped.stderr.strip() == "error: no run 'nope'; list runs with `dissensus runs list`"


async def test_with_the_call_log_off_only_the_accounting_is_kept(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    await _run_k1_k2(tmp_path, db, schema_path, call_log=CallLogSettings(enabled=False))
    calls = CallLog(db).calls(limit=None, run_id="r1")
    assert len(calls) == 5
    assert {(c.system, c.prompt, c.response) for c in calls} == {(None, None, None)}
    assert all(c.input_tokens > 0 for c in calls)


async def test_texts_are_capped_and_credentials_redacted(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    key = "sk-" + "a1b2c3d4" * 4
    noisy = {**K2, "title": K2["title"], "description": f"api_key={key} " + "x" * 3000}
    script = Script(a=AGREED, b={})
    gen_a = ScriptedLLM("scripted:gen-a", script.answer("a"))
    gen_b = ScriptedLLM("scripted:gen-b", script.answer("b"))
    await run(
        tmp_path,
        db,
        schema_path,
        [noisy],
        [gen_a, gen_b, Supervisor({}).llm],
        settings(call_log=CallLogSettings(max_chars=500)),
    )
    calls = CallLog(db).calls(limit=None)
    assert calls and all(key not in (c.prompt or "") for c in calls)
    assert all("api_key=***" in (c.prompt or "") for c in calls)
    assert all(
        len(c.prompt or "") < 600 and "cut at 500 characters" in (c.prompt or "") for c in calls
    )
