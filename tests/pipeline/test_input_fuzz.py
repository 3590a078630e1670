"""Fuzzed inputs: 10,000 generated records, valid and invalid mixed, read without a traceback.

Every valid record must come out as its product (control characters stripped, text trimmed) and
every invalid one as one error line naming its line, in input order; and a run over a fuzzed
file ends with one output line per record and the errors counted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissensus.config import GeneratorConfig, Settings
from dissensus.domain.product import clean_text
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest, read_records
from dissensus.storage import Database

CATEGORIES = ["Home > Knives", "Home > Pans", "Shoes"]
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
)
PRINTABLE = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1)

# Each generated line: (bytes of the line, expected title or None for an error line).
Line = tuple[bytes, str | None]


@st.composite
def lines(draw: st.DrawFn, index: int) -> Line:
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "valid",
                "valid",
                "no-title",
                "blank-title",
                "int-title",
                "no-id",
                "array",
                "broken-json",
                "bad-utf8",
                "bad-category",
                "duplicate",
            ]
        )
    )
    rid = f"p{index}"
    title = draw(PRINTABLE) + draw(TEXT)
    record: dict[str, Any] = {
        "id": rid,
        "title": title,
        "category": draw(st.sampled_from(CATEGORIES)),
    }
    if draw(st.booleans()):
        record["description"] = draw(TEXT)
    expected: str | None = None
    if kind == "valid":
        expected = clean_text(title).strip() or None
        if expected is None:
            return json.dumps(record).encode(), None
    elif kind == "no-title":
        del record["title"]
    elif kind == "blank-title":
        record["title"] = draw(st.sampled_from(["", "   ", "\x00\x01", "\t"]))
    elif kind == "int-title":
        record["title"] = draw(st.integers())
    elif kind == "no-id":
        del record["id"]
    elif kind == "array":
        return json.dumps([record]).encode(), None
    elif kind == "broken-json":
        return json.dumps(record).encode()[:-1], None
    elif kind == "bad-utf8":
        return json.dumps(record).encode().replace(b'"title"', b'"ti\xfftle"'), None
    elif kind == "bad-category":
        record["category"] = draw(st.sampled_from(["", " > ", "Home >> Knives", ">"]))
    elif kind == "duplicate":
        # A valid record reusing the first record's id: an error unless that one was invalid.
        record["id"] = "p0"
        expected = clean_text(title).strip() or None
    return json.dumps(record).encode(), expected


@st.composite
def files(draw: st.DrawFn, size: int) -> list[Line]:
    return [draw(lines(i)) for i in range(size)]


def _expected_ok(generated: list[Line]) -> list[str | None]:
    """What each line must read as; the first *valid* record with an id wins a duplicate."""
    seen: set[str] = set()
    expected: list[str | None] = []
    for raw, title in generated:
        if title is not None:
            rid = json.loads(raw)["id"]
            if rid in seen:
                title = None
            seen.add(rid)
        expected.append(title)
    return expected


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(generated=files(200))
def test_ten_thousand_fuzzed_records_read_right_or_as_error_lines(
    generated: list[Line], tmp_path_factory: Any
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "in.jsonl"
    path.write_bytes(b"".join(raw + b"\n" for raw, _ in generated))
    records = list(read_records(path))
    expected = _expected_ok(generated)
    assert len(records) == len(generated)
    for n, (record, title) in enumerate(zip(records, expected, strict=True), 1):
        if title is None:
            assert record.product is None and record.error is not None
            assert f"line {n}" in record.error or f"record {n}" in record.error, record.error
        else:
            assert record.error is None and record.product is not None, record.error
            assert record.product.title == title
            assert "\x00" not in record.product.text


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(generated=files(60))
def test_a_run_over_a_fuzzed_file_writes_one_line_per_record(
    generated: list[Line], tmp_path_factory: Any
) -> None:
    work = tmp_path_factory.mktemp("run")
    path = work / "in.jsonl"
    path.write_bytes(b"".join(raw + b"\n" for raw, _ in generated))
    schema = work / "schema.yaml"
    schema.write_text(
        "categories:\n"
        + "".join(f"  - path: {c}\n    attributes:\n      - name: Brand\n" for c in CATEGORIES)
    )
    config = Settings(
        generators=[GeneratorConfig(model="scripted:echo"), GeneratorConfig(model="scripted:echo")],
        evaluator=None,
        supervisor="scripted:echo",
        learning=False,
        lexicon_worker=False,
    )
    out = work / "out.jsonl"

    async def go() -> int:
        with Database.open(f"sqlite:///{work / 'db.sqlite'}") as db:
            async with ModelPool() as pool:
                summary = await Runner(config, db=db, open_model=pool.get).run(
                    RunRequest(path, schema, out, run_id="fuzz")
                )
        return summary.errors

    errors = asyncio.run(go())
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = _expected_ok(generated)
    assert len(written) == len(generated)
    assert errors == sum(1 for t in expected if t is None)
    assert [w.get("error") is None for w in written] == [t is not None for t in expected]
