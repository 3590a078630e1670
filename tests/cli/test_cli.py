"""The ``dissensus`` command: every subcommand, its errors, and the README's command lines."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from sqlalchemy import select
from typer.testing import CliRunner, Result

from dissensus import __version__
from dissensus.cli import app
from dissensus.cli.run import sample_dir
from dissensus.config import GeneratorConfig, Settings
from dissensus.domain import LearningDraft, Resolution
from dissensus.knowledge import KnowledgeBase
from dissensus.llm import ModelPool
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedRequest
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database
from dissensus.storage.tables import Run

README = Path(__file__).parents[2] / "README.md"
MAKEFILE = README.with_name("Makefile")

ECHO = [
    "-g",
    "scripted:echo",
    "-g",
    "scripted:echo",
    "--evaluator",
    "scripted:echo",
    "--supervisor",
    "scripted:echo",
]

SCHEMA = """\
categories:
  - path: Home
    attributes:
      - {name: Brand, description: The maker as written}
  - path: Home > Knives
    attributes:
      - {name: Knife type, values: [Chef, Paring]}
  - path: Home > Pans
    attributes:
      - {name: Size}
"""
PRODUCTS = [
    {"id": "k1", "title": "Acme Chef Knife 8in", "category": "Home > Knives"},
    {"id": "p1", "title": "Brava Skillet 12in", "category": "Home > Pans"},
    {"id": "k2", "title": "Zeta Paring Knife", "category": "Home > Knives"},
]
LESSON = "The brand is the first word of the title [not the knife type after it]."
"""Lower-case brackets: rich would read them as markup if the CLI let it."""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    # Rich sizes output from the real terminal otherwise; tables must not depend on it.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("dissensus.llm.registry.open_local", _no_local_models)
    return path


def _no_local_models(name: str, **_: object) -> None:
    raise AssertionError(f"a CLI test opened the real local model {name!r}")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    catalog = tmp_path / "catalog.jsonl"
    lines = [json.dumps(p) for p in PRODUCTS[:2]] + ["{broken", json.dumps(PRODUCTS[2])]
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"schema": schema, "catalog": catalog, "out": tmp_path / "out" / "enriched.jsonl"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    """Output with runs of whitespace collapsed, so assertions do not depend on wrapping."""
    return " ".join(text.split())


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)  # no traceback: a clean exit
    assert "Traceback" not in result.stderr + result.stdout
    assert error_lines(result) == [f"error: {message}"]
    assert result.stderr.endswith(f"error: {message}\n")


def learn(home: Path, tmp_path: Path) -> str:
    """A run in which the supervisor writes one learning; returns its id."""

    def generator(brand: str) -> Any:
        def handler(request: ScriptedRequest) -> ScriptedOutput:
            return {"Brand": brand, "Knife type": "Chef"}

        return handler

    def supervise(request: ScriptedRequest) -> ScriptedOutput:
        return Resolution(
            values={"Brand": "Acme"},
            confidence=0.9,
            learnings=[LearningDraft(category="Home > Knives", attributes=["Brand"], text=LESSON)],
        )

    schema = tmp_path / "learn-schema.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    catalog = tmp_path / "learn.jsonl"
    catalog.write_text(json.dumps(PRODUCTS[0]) + "\n", encoding="utf-8")
    settings = Settings(
        generators=[GeneratorConfig(model="scripted:a"), GeneratorConfig(model="scripted:b")],
        evaluator=None,
        supervisor="scripted:supervisor",
        learning_kinds=["rule"],
        learning_gate=False,
    )

    async def go() -> None:
        async with ModelPool() as pool:
            pool.add(ScriptedLLM("scripted:a", generator("Acme")))
            pool.add(ScriptedLLM("scripted:b", generator("Acme Chef")))
            pool.add(ScriptedLLM("scripted:supervisor", supervise))
            with Database.open(home=home) as db:
                runner = Runner(settings, db=db, open_model=pool.get)
                await runner.run(RunRequest(catalog, schema, tmp_path / "learn-out.jsonl", "learn"))

    asyncio.run(go())
    with Database.open(home=home) as db:
        (learning,) = KnowledgeBase(db).list()
    return learning.id


# --- the app ----------------------------------------------------------------------------------


def test_help_lists_every_command(home: Path) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "demo", "models", "kb"):
        assert re.search(rf"│ {command}\s", result.stdout), command
    kb = invoke("kb", "--help")
    assert kb.exit_code == 0
    for command in ("tree", "show", "history"):
        assert re.search(rf"│ {command}\s", kb.stdout), command


def test_version_prints_the_package_version(home: Path) -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"dissensus {__version__}\n")


def test_the_installed_script_reports_an_error_in_one_line_with_exit_1(
    home: Path, files: dict[str, Path]
) -> None:
    """Smoke test of the real entry point, in its own process."""
    script = Path(sys.executable).with_name("dissensus")
    missing = files["catalog"].with_name("missing.jsonl")
    failed = subprocess.run(
        [script, "run", missing, "-s", files["schema"], "-o", files["out"], "-q", *ECHO],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == f"error: input file '{missing}' does not exist"
    assert "Traceback" not in failed.stderr


# --- run --------------------------------------------------------------------------------------


def test_run_writes_one_line_per_record_and_prints_the_summary(
    home: Path, files: dict[str, Path]
) -> None:
    args = ["run", str(files["catalog"]), "-s", str(files["schema"]), "-o", str(files["out"])]
    result = invoke(*args, "--run-id", "cli-run", *ECHO)

    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in files["out"].read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["k1", "p1", "#2", "k2"]
    assert lines[2]["error"].startswith("record at line 3: not valid JSON")
    assert lines[0]["attributes"]["Knife type"] == {
        "value": "Chef",
        "status": "consensus",
        "confidence": 1.0,
        "learnings": [],
    }
    out = flat(result.stdout)
    assert "run cli-run: 3 products, 1 errors," in out
    # The lexicon worker reads "Paring" in k2's title where the echo generators say "Chef":
    # a real disagreement, so the supervisor is called once; its echo answer settles nothing
    # that was asked, so it is an abstention and the attribute waits for a person.
    assert (
        "consensus rate 83% of 6 attributes; disagreement rate 33% of products; "
        "supervisor calls 1; learnings added 0"
    ) in out
    # Two generators and the evaluator per product, and one supervisor call; the lexicon
    # worker makes no request.
    assert "statuses: consensus 5, needs_review 1; model requests 10, tokens" in out
    assert "Disagreement by category" in out
    assert "│ Home > Knives │ 2 │ 1 │ 50% │ 1/4 │" in out
    assert "│ Home > Pans │ 1 │ 0 │ 0% │ 0/2 │" in out
    assert out.endswith(f"output: {files['out']}")
    assert flat(result.stderr).startswith(f"run cli-run: {files['catalog']} -> {files['out']}")
    # Not a terminal, so the progress bar is log lines on stderr, the last one the finish.
    assert re.search(r"^\d\d:\d\d:\d\d enriching: (\d+)/\1 \(100 %\)", result.stderr, re.M)

    again = invoke(*args, "--run-id", "cli-run", "-q", *ECHO)
    assert again.exit_code == 0, again.stderr
    # The whole run is reported again, and no model was asked anything new.
    assert "run cli-run (resumed): 3 products, 1 errors," in flat(again.stdout)
    assert "model requests 10," in flat(again.stdout)
    assert "enriching" not in again.stderr


def test_a_run_where_every_record_failed_exits_1_after_writing_them(
    home: Path, files: dict[str, Path]
) -> None:
    # A script that reads only the exit code once saw 0 for "0 products, 3 errors".
    files["catalog"].write_text("{broken\n[1, 2]\n{}\n", encoding="utf-8")
    args = ["run", str(files["catalog"]), "-s", str(files["schema"]), "-o", str(files["out"])]
    result = invoke(*args, "--run-id", "all-bad", *ECHO)
    assert result.exit_code == 1, result.stderr
    assert "run all-bad: 0 products, 3 errors," in flat(result.stdout)
    assert error_lines(result) == [
        f"error: no record of '{files['catalog']}' could be enriched (3 errors); each output "
        'line\'s "error" says why'
    ]
    lines = files["out"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line)["error"] for line in lines)


def test_run_options_reach_the_settings(home: Path, files: dict[str, Path]) -> None:
    result = invoke(
        "run",
        str(files["catalog"]),
        "--schema",
        str(files["schema"]),
        "--out",
        str(files["out"]),
        "--run-id",
        "opts",
        "-g",
        "scripted:echo",
        "-g",
        "scripted:abstain",
        "--evaluator",
        "none",
        "--supervisor",
        "scripted:echo",
        "--batch-size",
        "1",
        "--no-learning",
        "-q",
    )

    assert result.exit_code == 0, result.stderr
    with Database.open(home=home) as db, db.read() as session:
        config = session.scalars(select(Run.config).where(Run.id == "opts")).one()
    assert [(g["model"], g["style"]) for g in config["generators"]] == [
        ("scripted:echo", "direct"),
        ("scripted:abstain", "evidence"),
    ]
    assert (config["evaluator"], config["supervisor"]) == (None, "scripted:echo")
    assert (config["batch_size"], config["learning"]) == (1, False)
    # An abstaining generator sends every attribute to the supervisor, which (echo) resolves
    # nothing definite: each product costs 1 + 2 (answer, re-ask) + 1 requests.
    out = flat(result.stdout)
    assert "supervisor calls 3; learnings added 0" in out
    assert "statuses: needs_review 6;" in out
    assert "model requests 12," in out


def test_a_missing_input_file_is_one_error_line_and_exit_1(
    home: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # a long message still stays on one line
    missing = files["catalog"].with_name("missing.jsonl")
    result = invoke("run", str(missing), "-s", str(files["schema"]), "-o", str(files["out"]), *ECHO)
    assert_one_line_error(result, f"input file '{missing}' does not exist")
    assert not files["out"].exists()


@pytest.mark.parametrize("out", ["catalog", "schema", "catalog.parquet"])
def test_an_output_that_is_the_runs_own_file_is_refused_and_the_file_kept(
    home: Path, files: dict[str, Path], out: str
) -> None:
    # `run same.jsonl --out same.jsonl` once emptied the input and reported 0 products.
    catalog = files["catalog"]
    if out == "catalog.parquet":
        catalog = catalog.rename(catalog.with_suffix(".parquet"))
        files["catalog"] = catalog
        target = catalog.parent / "." / catalog.name  # the same file, written another way
    else:
        target = files[out]
    before = target.read_bytes()
    result = invoke("run", str(catalog), "-s", str(files["schema"]), "-o", str(target), *ECHO)
    assert result.exit_code == 1
    assert "would destroy it: choose another --out" in " ".join(result.output.split())
    assert target.read_bytes() == before


def test_a_bad_schema_is_one_error_line_and_exit_1(
    home: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    schema = files["schema"]
    schema.write_text("- path: Home\n", encoding="utf-8")
    args = ["run", str(files["catalog"]), "-s", str(schema), "-o", str(files["out"]), *ECHO]
    assert_one_line_error(
        invoke(*args), f"schema file '{schema}' needs a top-level 'categories:' list"
    )
    missing = schema.with_name("nope.yaml")
    args[3] = str(missing)
    assert_one_line_error(invoke(*args), f"schema file '{missing}' does not exist")


def test_a_database_path_given_as_the_url_is_one_error_line(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "dissensus.db"
    assert_one_line_error(
        invoke("runs", "list", "--db", str(path)),
        f"'{path}' is not a database URL; a SQLite file is written 'sqlite:///{path}', "
        "PostgreSQL 'postgresql+psycopg://user@host/db'",
    )


def test_an_output_directory_that_cannot_be_made_is_refused_before_any_work(
    home: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("", encoding="utf-8")
    assert_one_line_error(
        invoke("report", "--out", str(taken / "charts")),
        f"--out '{taken / 'charts'}': cannot make the directory: Not a directory",
    )
    assert_one_line_error(
        invoke("report", "--out", str(taken)),
        f"--out '{taken}': cannot make the directory: File exists",
    )


def test_an_unparsable_schema_exits_1_without_a_traceback(
    home: Path, files: dict[str, Path]
) -> None:
    files["schema"].write_text("categories: [\n", encoding="utf-8")
    result = invoke(
        "run", str(files["catalog"]), "-s", str(files["schema"]), "-o", str(files["out"]), *ECHO
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    # The YAML parser's own report spans lines; the first one names the file and the problem.
    (line,) = error_lines(result)
    assert (
        line
        == f"error: schema file '{files['schema']}' is not valid YAML: while parsing a flow node"
    )


def test_error_messages_are_printed_literally_not_as_markup(
    home: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("batch_size: many\n", encoding="utf-8")
    result = invoke(
        "run",
        str(files["catalog"]),
        "-s",
        str(files["schema"]),
        "-o",
        str(files["out"]),
        "--config",
        str(config),
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    # "[got 'many']" looks like a rich tag; it must survive.
    assert "batch_size: Input should be a valid integer" in result.stderr
    assert "[got 'many']" in result.stderr


def test_an_unknown_model_string_is_one_error_line(home: Path, files: dict[str, Path]) -> None:
    result = invoke(
        "run", str(files["catalog"]), "-s", str(files["schema"]), "-o", str(files["out"]),
        "-g", "gpt-4o",
    )  # fmt: skip
    assert_one_line_error(
        result,
        "model 'gpt-4o' must look like provider:name, with provider one of local:, openai:, "
        "anthropic:, bedrock:, bedrock-batch:, scripted:",
    )


# --- demo -------------------------------------------------------------------------------------


def test_demo_on_scripted_models_enriches_the_whole_sample(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    result = invoke("demo", *ECHO, "--out", str(out), "-q")

    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    sample = (sample_dir() / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 74
    assert [line["id"] for line in lines] == [json.loads(s)["id"] for s in sample]
    assert all(line["error"] is None and line["attributes"] for line in lines)
    assert ": 74 products, 0 errors," in flat(result.stdout)
    assert flat(result.stdout).endswith(
        f"output: {out} next: dissensus kb tree --learnings (what it learned)"
    )


# --- kb ---------------------------------------------------------------------------------------


def test_kb_tree_is_empty_first_then_shows_what_a_run_learned(home: Path, tmp_path: Path) -> None:
    empty = invoke("kb", "tree")
    assert (empty.exit_code, empty.stdout) == (
        0,
        "The knowledge base is empty: run `dissensus run` or `dissensus demo` first.\n",
    )

    learning_id = learn(home, tmp_path)
    tree = invoke("kb", "tree")
    assert tree.exit_code == 0, tree.stderr
    lines = [line.strip(" │├└─") for line in tree.stdout.splitlines()]
    assert lines[:3] == [
        "All categories /",
        "Home /home",
        "Knives /home/knives  (active 1)",
    ]
    assert learning_id not in tree.stdout

    detailed = invoke("kb", "tree", "--learnings")
    assert detailed.exit_code == 0, detailed.stderr
    assert f"{learning_id} {LESSON}" in detailed.stdout


def test_kb_show_prints_one_learning_and_rejects_unknown_ids(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learning_id = learn(home, tmp_path)
    result = invoke("kb", "show", learning_id)

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"{learning_id} v1 [active] rule at /home/knives",
        "attributes: Brand",
        f"text: {LESSON}",
        "sources: learn:k1; uses: 0",
        "history:",
    ]
    assert re.fullmatch(
        r"  #\d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d memory-manager add: .+", lines[-1]
    ), lines[-1]

    monkeypatch.setenv("COLUMNS", "40")
    assert_one_line_error(
        invoke("kb", "show", "L-000000"),
        "learning 'L-000000' does not exist; see `dissensus kb tree` or `dissensus kb pending` "
        "for the ids",
    )


def test_kb_history_as_a_table_and_as_json_lines(home: Path, tmp_path: Path) -> None:
    learning_id = learn(home, tmp_path)

    table = invoke("kb", "history")
    assert table.exit_code == 0, table.stderr
    assert "knowledge base history (version" in table.stdout
    assert re.search(rf"│ memory-manager │ add\s+│ {learning_id} │ /home/knives", table.stdout)

    as_json = invoke("kb", "history", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert events[-1]["op"] == "add" and events[-1]["learning_id"] == learning_id

    one = invoke("kb", "history", "--json", "--learning", learning_id, "-n", "5")
    (only,) = [json.loads(line) for line in one.stdout.splitlines()]
    assert only == events[-1]

    # A cut list says so and how to see more; -n 0 is everything, as in `logs`.
    assert len(events) > 1
    newest = invoke("kb", "history", "-n", "1")
    assert newest.exit_code == 0, newest.stderr
    assert "the newest 1 events; older ones: -n 2, or -n 0 for all" in flat(newest.stderr)
    every = invoke("kb", "history", "--json", "-n", "0")
    assert [json.loads(line) for line in every.stdout.splitlines()] == events
    assert "older ones" not in invoke("kb", "history").stderr
    assert invoke("kb", "history", "-n", "-3").exit_code == 2
    assert_one_line_error(
        invoke("kb", "history", "--learning", "L-zzzzzz"),
        "learning 'L-zzzzzz' does not exist; see `dissensus kb tree` or `dissensus kb pending` "
        "for the ids",
    )


# --- models -----------------------------------------------------------------------------------


def test_models_lists_the_embedded_and_scripted_models(home: Path) -> None:
    result = invoke("models")
    assert result.exit_code == 0, result.stderr
    names = re.findall(r"^│ (\S+)", result.stdout, flags=re.M)
    assert names[:2] == ["local:gemma3-270m", "local:smollm2-135m"]
    assert {"openai:gpt-4o-mini", "scripted:echo", "scripted:abstain"} <= set(names)


# --- the README -------------------------------------------------------------------------------


def readme_command_lines() -> list[str]:
    """Every command line of the README's fenced blocks (``a | b`` lists count as two)."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    commands: list[str] = []
    for block in blocks:
        # A line ending in a backslash goes on on the next one, as in a shell.
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            commands += [part.strip() for part in line.split(" | ") if part.strip()]
    return commands


GOVERNANCE_COMMANDS = (
    "pending approve reject edit add deprecate reactivate promote diff rollback export import"
).split()


REVIEW_COMMANDS = "list next show submit release export".split()


def test_every_dissensus_command_in_the_readme_parses() -> None:
    root = typer.main.get_command(app)
    seen: set[tuple[str, ...]] = set()
    for line in readme_command_lines():
        if not line.startswith("dissensus "):
            continue
        # "[--verified FILE]" marks an optional part: it must parse too.
        args = shlex.split(line.replace("[", "").replace("]", ""))[1:]
        command: Any = root
        path: list[str] = []
        while hasattr(command, "commands") and args and args[0] in command.commands:
            path.append(args.pop(0))
            command = command.commands[path[-1]]
        assert path and not hasattr(command, "commands"), f"no such command: {line}"
        command.make_context(" ".join(path), args)  # raises on unknown options or arguments
        seen.add(tuple(path))
    assert seen == {
        ("run",),
        ("kb", "tree"),
        ("kb", "show"),
        ("kb", "history"),
        ("models",),
        *(("kb", name) for name in GOVERNANCE_COMMANDS),
        *(("review", name) for name in REVIEW_COMMANDS),
        ("users", "add"),
        ("users", "list"),
        ("users", "disable"),
        ("users", "enable"),
        ("users", "remove"),
        ("serve",),
        ("bench", "extraction"),
        ("bench", "throughput"),
        ("bench", "scale"),
        ("bench", "judge"),
        ("bench", "retrieval"),
        ("review", "sqs", "create"),
        ("review", "sqs", "publish"),
        ("signals", "ingest"),
        ("kb", "compact"),
        ("report",),
        ("logs",),
        ("runs", "list"),
        ("runs", "show"),
        ("tokens", "add"),
        ("tokens", "list"),
        ("tokens", "revoke"),
    }


def test_the_quickstart_make_targets_exist() -> None:
    targets = set(re.findall(r"^([\w-]+):", MAKEFILE.read_text(encoding="utf-8"), re.M))
    used = {line.split()[1] for line in readme_command_lines() if line.startswith("make ")}
    assert used == {"demo", "test", "test-fast", "lint", "bench"}
    assert used <= targets
