"""A run in its own process, for the resume test: ``python _resume_child.py ARGS.json``.

ARGS.json holds ``catalog``, ``schema``, ``out``, ``run_id``, ``calls`` (a file this process
appends one line per model call to: ``<model> <product id>``) and optionally ``call_seconds``.
The scripted models sleep a little per call so that the parent can kill the run while it is
half done. Every fifth product is disputed, so killed runs also stop around supervisor calls and
learning placements. The summary is printed as JSON on stdout when the run completes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from dissensus.config import GeneratorConfig, Settings
from dissensus.domain import Resolution
from dissensus.llm import ModelPool
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedRequest
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

CALL_SECONDS = 0.02
LESSON = "The brand is the first word of the title, never the knife type after it."


def product_id(request: ScriptedRequest) -> str:
    """Titles end with the product id (``Acme Chef Knife k07``)."""
    for line in request.prompt.splitlines():
        for prefix in ("Product title: ", "Title: "):
            if line.startswith(prefix):
                return line.split()[-1]
    raise AssertionError(f"no title in {request.prompt!r}")


def main() -> None:
    args = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    calls = Path(args["calls"])

    pause = float(args.get("call_seconds", CALL_SECONDS))

    def logged(name: str, answer: ScriptedOutput, request: ScriptedRequest) -> ScriptedOutput:
        time.sleep(pause)
        with calls.open("a", encoding="utf-8") as fh:
            fh.write(f"{name} {product_id(request)}\n")
        return answer

    def generator(name: str) -> ScriptedLLM:
        def handler(request: ScriptedRequest) -> ScriptedOutput:
            pid = product_id(request)
            disputed = name == "gen-b" and int(pid[1:]) % 5 == 0
            brand = "Acme Chef" if disputed else "Acme"
            return logged(name, {"Brand": brand, "Knife type": "Chef"}, request)

        return ScriptedLLM(f"scripted:{name}", handler)

    def supervise(request: ScriptedRequest) -> ScriptedOutput:
        assert request.output_type is Resolution
        answer = Resolution.model_validate(
            {
                "values": {"Brand": "Acme"},
                "confidence": 0.9,
                "learnings": [
                    {"category": "Home > Knives", "attributes": ["Brand"], "text": LESSON}
                ],
            }
        )
        return logged("supervisor", answer, request)

    settings = Settings(
        generators=[
            GeneratorConfig(model="scripted:gen-a"),
            GeneratorConfig(model="scripted:gen-b", style="evidence"),
        ],
        evaluator=None,
        supervisor="scripted:supervisor",
        batch_size=4,
        concurrency=2,
    )

    async def go() -> str:
        async with ModelPool() as pool:
            pool.add(generator("gen-a"))
            pool.add(generator("gen-b"))
            pool.add(ScriptedLLM("scripted:supervisor", supervise))
            with Database.open() as db:
                runner = Runner(settings, db=db, open_model=pool.get)
                summary = await runner.run(
                    RunRequest(
                        input_path=Path(args["catalog"]),
                        schema_path=Path(args["schema"]),
                        out_path=Path(args["out"]),
                        run_id=args["run_id"],
                    )
                )
        return summary.model_dump_json()

    print(asyncio.run(go()))


if __name__ == "__main__":
    main()
