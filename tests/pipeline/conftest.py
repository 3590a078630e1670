"""Fixtures for pipeline tests: a scratch home, small catalogs and schemas, scripted workers.

The scripted generators answer from a script keyed by product title, so one catalog can hold
products the workers agree on and products they dispute, and every answer carries exact token
counts (``ScriptedReply``) so that summaries can be checked against hand-computed numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dissensus.config import GeneratorConfig, Settings
from dissensus.domain import Resolution
from dissensus.knowledge import PlacementDecision
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedReply, ScriptedRequest
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

GEN_IN, GEN_OUT = 10, 2
"""Tokens of one generator answer."""
SUP_IN, SUP_OUT = 100, 20
"""Tokens of one supervisor answer."""

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
      - {name: Size, description: Diameter with its unit}
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dissensus home, so nothing touches ``~/.dissensus``."""
    path = tmp_path / "home"
    monkeypatch.setenv("DISSENSUS_HOME", str(path))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def db(home: Path) -> Iterator[Database]:
    with scratch_database(home) as database:
        yield database


@pytest.fixture
def schema_path(tmp_path: Path) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(SCHEMA, encoding="utf-8")
    return path


def write_catalog(path: Path, records: list[dict[str, Any] | str]) -> Path:
    """One JSONL line per record; a string is written as-is (for broken lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def title_of(request: ScriptedRequest) -> str:
    """The product title from a worker's user prompt (``Product title: ...``, after examples)."""
    line = next((x for x in request.prompt.splitlines() if x.startswith("Product title: ")), None)
    assert line is not None, request.prompt
    return line.removeprefix("Product title: ")


Answers = dict[str, str]
"""Attribute name to the value a generator gives (``"n/a"`` for absent)."""


@dataclass
class Script:
    """What generator a and generator b say per product title; b says what a says unless told."""

    a: dict[str, Answers] = field(default_factory=dict)
    b: dict[str, Answers] = field(default_factory=dict)

    def answer(self, which: str) -> Callable[[ScriptedRequest], ScriptedOutput]:
        def handler(request: ScriptedRequest) -> ScriptedOutput:
            title = title_of(request)
            base = self.a[title]
            values = {**base, **self.b.get(title, {})} if which == "b" else base
            return ScriptedReply(values, input_tokens=GEN_IN, output_tokens=GEN_OUT)

        return handler


def generators(script: Script) -> tuple[ScriptedLLM, ScriptedLLM]:
    """Generators a and b answering from ``script``, named as :func:`settings` expects."""
    return (
        ScriptedLLM("scripted:gen-a", script.answer("a")),
        ScriptedLLM("scripted:gen-b", script.answer("b")),
    )


def resolution(
    values: Mapping[str, str | None],
    *,
    confidence: float = 0.9,
    lesson: str | None = None,
    category: str = "Home > Knives",
    attributes: list[str] | None = None,
    needs_human: bool = False,
) -> ScriptedReply:
    """A supervisor answer in agent mode, optionally with one learning draft."""
    drafts = []
    if lesson is not None:
        drafts.append(
            {"category": category, "attributes": attributes or list(values), "text": lesson}
        )
    answer = Resolution.model_validate(
        {
            "values": dict(values),
            "confidence": confidence,
            "why_workers_failed": "generator b took a word of the model name for the brand",
            "learnings": drafts,
            "needs_human": needs_human,
        }
    )
    return ScriptedReply(answer, input_tokens=SUP_IN, output_tokens=SUP_OUT)


class Supervisor:
    """A scripted tool-capable supervisor: answers per product title, places learnings by "add".

    It doubles as the memory manager (the default: the supervisor's model), so it also answers
    :class:`PlacementDecision` requests, which come only when a node already holds a related
    learning.
    """

    def __init__(self, answers: Mapping[str, ScriptedOutput]) -> None:
        self.answers = dict(answers)
        self.llm = ScriptedLLM("scripted:supervisor", self._respond)

    def _respond(self, request: ScriptedRequest) -> ScriptedOutput:
        if request.output_type is PlacementDecision:
            return PlacementDecision(op="add", reason="a separate rule")
        assert request.output_type is Resolution
        title = request.prompt.splitlines()[1].removeprefix("Title: ")
        return self.answers[title]

    @property
    def cases(self) -> list[ScriptedRequest]:
        """The resolution requests it received, in order."""
        return [r for r in self.llm.requests if r.output_type is Resolution]


def settings(**overrides: Any) -> Settings:
    """Two scripted generators (two styles), no evaluator, the scripted supervisor.

    These tests are about the run's mechanics (batching, resume, placement, deployment modes),
    so the supervisor's learnings are its rules only and go through no gate; the learning as
    data (values, examples, the gate, the lexicon worker) has its own tests.
    """
    values: dict[str, Any] = {
        "learning_kinds": ["rule"],
        "learning_gate": False,
        "lexicon_worker": False,
        "generators": [
            GeneratorConfig(model="scripted:gen-a", style="direct"),
            GeneratorConfig(model="scripted:gen-b", style="evidence"),
        ],
        "evaluator": None,
        "supervisor": "scripted:supervisor",
        "batch_size": 2,
        "concurrency": 1,
    }
    values.update(overrides)
    return Settings.model_validate(values)
