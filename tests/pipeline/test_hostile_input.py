"""Bad bytes, duplicate ids, control characters and huge texts: one record each, never a run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from dissensus.llm.testing import ScriptedLLM
from dissensus.pipeline import read_records
from dissensus.storage import Database

from .conftest import read_output, settings, title_of
from .test_runner import AGREED, K1, K2, Team, run

pytestmark = pytest.mark.anyio


def test_invalid_utf8_spoils_only_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(K1).encode()
        + b"\n"
        + b'{"id": "x", "title": "bad \xff byte", "category": "Home"}\n'
        + json.dumps(K2).encode()
        + b"\n"
    )
    records = list(read_records(path))
    assert [r.product.id if r.product else r.error for r in records] == [
        "k1",
        "record at line 2: not valid UTF-8 (byte 26)",
        "k2",
    ]


def test_an_excel_csv_with_a_byte_order_mark_and_a_bad_row_reads(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,title,category\r\n"
        b"k1,Acme Chef Knife 8in,Home > Knives\r\n"
        b"k9,Bad \xfe row,Home > Knives\r\n"
        b"k2,Acme Paring Knife 3in,Home > Knives\r\n"
    )
    records = list(read_records(path))
    assert [r.product.id if r.product else r.error for r in records] == [
        "k1",
        "record at line 3: not valid UTF-8",
        "k2",
    ]


def test_a_duplicate_id_gets_an_error_line_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(K1) + "\n" + json.dumps({**K2, "id": "k1"}) + "\n")
    first, second = read_records(path)
    assert first.product is not None and second.product is None
    assert second.error == (
        "record at line 2: duplicate id 'k1' (first at line 1); ids must be unique within an input"
    )
    assert second.raw_id == "k1"


def test_control_characters_never_reach_a_value(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({**K1, "title": "Acme\u0000 Chef\u0007 Knife 8in\u001b"}) + "\n")
    (record,) = read_records(path)
    assert record.product is not None and record.product.title == "Acme Chef Knife 8in"


async def test_a_huge_title_is_cut_before_the_models_and_the_output_says_so(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    huge = {**K1, "title": K1["title"] + " x" * 500_000}
    team = Team()
    # The scripted generators answer by title: the cut title is what they must see.
    cut = huge["title"][:400]
    AGREED[cut] = AGREED[K1["title"]]
    try:
        _, out = await run(tmp_path, db, schema_path, [huge], team.models, settings())
    finally:
        del AGREED[cut]
    assert out[0]["notes"] == ["title cut from 1000019 to 400 characters"]
    assert all(len(r.prompt) < 1000 for r in team.gen_a.requests)
    plain = read_output(tmp_path / "out" / "enriched.jsonl")
    assert "notes" in plain[0]


class _HangsOnK1(ScriptedLLM):
    """Generator a, except that its call for k1 never returns (a hung backend)."""

    async def structured(self, output_type, *, system, prompt, max_tokens=256):  # type: ignore[no-untyped-def]
        if K1["title"] in prompt:
            await asyncio.sleep(3600)
        return await super().structured(
            output_type, system=system, prompt=prompt, max_tokens=max_tokens
        )


async def test_a_hung_model_call_ends_its_product_with_the_reason_and_the_run_goes_on(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    team = Team()
    slow = _HangsOnK1("scripted:gen-a", lambda r: AGREED[title_of(r)])
    config = settings(product_timeout_seconds=0.5, concurrency=2)
    models = [slow, team.gen_b, team.supervisor.llm]
    _, out = await run(tmp_path, db, schema_path, [K1, K2], models, config)
    assert out[0]["error"] == (
        "timed out after 0.5 s in the models (product_timeout_seconds); the run went on without it"
    )
    assert out[1]["error"] is None and out[1]["attributes"]["Brand"]["value"] == "Acme"


async def test_a_password_in_the_base_url_is_never_stored(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    from sqlalchemy import select

    from dissensus.observability import redact_url
    from dissensus.storage.tables import Run

    config = settings(openai_base_url="http://ann:s3cret@127.0.0.1:9/v1?api_key=k3y&x=1")
    await run(tmp_path, db, schema_path, [K1], Team().models, config)
    with db.read() as session:
        stored = session.scalars(select(Run.config)).one()
    assert stored["openai_base_url"] == "http://ann:***@127.0.0.1:9/v1?api_key=***&x=1"
    assert "s3cret" not in json.dumps(stored) and "k3y" not in json.dumps(stored)
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
