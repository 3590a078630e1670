"""A tiny OA-Mine-shaped data set and scripted models for the extraction-benchmark tests.

Two categories, ten train records (two of them also in ``train_0.2``), four test records. The
scripted generators disagree (generator a takes the first span of the title, b the second), so
the supervisor is called, writes learnings and the memory manager places them: the whole loop
runs in well under a second.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from dissensus.config import GeneratorConfig, Settings
from dissensus.llm import LLM, ModelPool, ModelProfile
from dissensus.llm.testing import ScriptedLLM, ScriptedOutput, ScriptedRequest, example_output

NA = "n/a"


def _rec(title: str, category: str, **labels: str | list[str]) -> dict[str, Any]:
    targets = {
        name.replace("_", " "): {v: 1 for v in (value if isinstance(value, list) else [value])}
        for name, value in labels.items()
    }
    return {"input": title, "category": category, "target_scores": targets}


TRAIN = [
    _rec(
        "Nike Air Zoom Men's Running Shoe Black",
        "Shoes",
        Brand="Nike",
        Gender="Men's",
        Color="Black",
    ),
    _rec(
        "Adidas Samba Women's Sneaker White",
        "Shoes",
        Brand="Adidas",
        Gender="Women's",
        Color="White",
    ),
    _rec("Puma Suede Classic Red", "Shoes", Brand="Puma", Color="Red"),
    _rec("Asics Gel Kayano Men's Blue", "Shoes", Brand="Asics", Gender="Men's", Color="Blue"),
    _rec("Vans Old Skool Unisex Black", "Shoes", Brand="Vans", Gender="Unisex"),
    _rec(
        "Twinings Earl Grey Black Tea 20 bags",
        "Tea",
        Brand="Twinings",
        Tea_variety="Earl Grey",
        Pack_size="20 bags",
    ),
    _rec(
        "Lipton Green Tea 100 bags",
        "Tea",
        Brand="Lipton",
        Tea_variety="Green",
        Pack_size="100 bags",
    ),
    _rec("Bigelow Chamomile Herbal Tea", "Tea", Brand="Bigelow", Tea_variety="Chamomile"),
    _rec("Yogi Ginger Tea 16 bags", "Tea", Brand="Yogi", Tea_variety="Ginger", Pack_size="16 bags"),
    _rec("Tazo Zen Green Tea", "Tea", Brand="Tazo", Tea_variety="Zen Green"),
]
VERIFIED = [TRAIN[0], TRAIN[7]]
TEST = [
    _rec(
        "Reebok Club C Women's White",
        "Shoes",
        Brand="Reebok",
        Gender="Women's",
        Color=["White", "white"],
    ),
    _rec(
        "New Balance 574 Men's Grey",
        "Shoes",
        Brand="New Balance",
        Gender="Men's",
        Color="Grey",
        Width=NA,
    ),
    _rec(
        "Pukka Three Mint Tea 20 bags",
        "Tea",
        Brand="Pukka",
        Tea_variety="Three Mint",
        Pack_size="20 bags",
    ),
    _rec("Celestial Sleepytime Herbal Tea", "Tea", Brand="Celestial", Tea_variety="Sleepytime"),
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_dataset(directory: Path, *, poison: bool = False) -> Path:
    """The three split files; ``poison`` replaces every gold value of train and test (and the
    test attribute names) with strings that must never reach a pipeline. ``train_0.2`` (the
    verified catalog, which the supervisor may read) stays as it is."""
    train, test = TRAIN, TEST
    if poison:
        train = [_poisoned(r, i, names=False) for i, r in enumerate(TRAIN)]
        test = [_poisoned(r, i, names=True) for i, r in enumerate(TEST)]
    write_jsonl(directory / "train.jsonl", train)
    write_jsonl(directory / "train_0.2.jsonl", VERIFIED)
    write_jsonl(directory / "test.jsonl", test)
    return directory


def _poisoned(record: dict[str, Any], i: int, *, names: bool) -> dict[str, Any]:
    targets = {}
    for j, (name, values) in enumerate(record["target_scores"].items()):
        key = f"POISON-NAME-{i}-{j}" if names else name
        targets[key] = {f"POISON-{i}-{j}-{k}": 1 for k, _ in enumerate(values)}
    return {**record, "target_scores": targets}


def _pick(request: ScriptedRequest, index: int = 0, *, distinct: bool = False) -> ScriptedOutput:
    """An answer taking the ``index``-th non-"n/a" option of every enum field (else the last).

    ``distinct`` skips options an earlier field took: a supervisor that gives one value to one
    attribute, as ``domain.overlaps`` expects (a value given to several attributes is dropped
    from all but one, or all).
    """
    values: dict[str, Any] = example_output(request.output_type).model_dump()
    taken: set[str] = set()
    for name, info in request.output_type.model_fields.items():
        if typing.get_origin(info.annotation) is typing.Literal:
            args = typing.get_args(info.annotation)
            options = [o for o in args if o != NA and o not in taken] or [NA]
            values[name] = options[min(index, len(options) - 1)]
            if distinct:
                taken.add(values[name])
    return request.output_type.model_validate(values)


def scripted_models() -> list[ScriptedLLM]:
    """gen-a (first span), gen-b (second span), and a supervisor that cannot call tools (so it
    runs in gathered mode on structured output and doubles as the memory manager)."""
    no_tools = ModelProfile(supports_tools=False, context_tokens=100_000)
    return [
        ScriptedLLM("scripted:gen-a", lambda r: _pick(r, 0)),
        ScriptedLLM("scripted:gen-b", lambda r: _pick(r, 1)),
        ScriptedLLM("scripted:boss", lambda r: _pick(r, distinct=True), profile=no_tools),
    ]


def pool_with(models: list[ScriptedLLM]) -> ModelPool:
    def refuse(spec: str, **_: object) -> LLM:
        raise AssertionError(f"unexpected model {spec!r}")

    pool = ModelPool(opener=refuse)
    for model in models:
        pool.add(model)
    return pool


def settings(*, concurrency: int = 2) -> Settings:
    """Scripted generators a and b, no evaluator, the scripted supervisor."""
    return Settings(
        generators=[
            GeneratorConfig(model="scripted:gen-a", style="direct"),
            GeneratorConfig(model="scripted:gen-b", style="evidence"),
        ],
        evaluator=None,
        supervisor="scripted:boss",
        batch_size=2,
        concurrency=concurrency,
    )
