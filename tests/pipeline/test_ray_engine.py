"""``--engine ray``: the model stages on a local Ray cluster give the local runner's output,
commit each product once, and resume (scripted models, which actors open by name)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from dissensus.config import GeneratorConfig, Settings
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest
from dissensus.pipeline.inputs import read_records
from dissensus.pipeline.ray_engine import CategoryActor, RayOptions, _encode
from dissensus.pipeline.runner import _category_batches
from dissensus.pipeline.store import RunStore
from dissensus.storage import Database
from dissensus.storage.tables import ModelCall, ReviewItemRow, RunProduct
from dissensus.storage.testing import reset_database, scratch_database

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SCHEMA = """\
categories:
  - path: Home > Knives
    attributes:
      - {name: Brand, description: The maker as written}
      - {name: Knife type, values: [Chef, Paring]}
  - path: Home > Pans
    attributes:
      - {name: Brand}
      - {name: Size, description: Diameter with its unit}
"""
VERIFIED = [
    {
        "id": "v1",
        "title": "Acme Chef Knife 8in",
        "category": "Home > Knives",
        "attributes": {"Brand": "Acme", "Knife type": "Chef"},
    },
    {
        "id": "v2",
        "title": "Kaito Frying Pan 28 cm",
        "category": "Home > Pans",
        "attributes": {"Brand": "Kaito", "Size": "28 cm"},
    },
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster on this machine's cores, shared by the module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def files(tmp_path: Path, n: int = 24) -> tuple[Path, Path, Path]:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    verified = tmp_path / "verified.jsonl"
    verified.write_text("".join(json.dumps(v) + "\n" for v in VERIFIED), encoding="utf-8")
    rows = []
    for i in range(n):
        if i % 2:
            rows.append(
                {"id": f"p{i}", "title": f"Acme Paring Knife {i}", "category": "Home > Knives"}
            )
        else:
            rows.append(
                {"id": f"p{i}", "title": f"Kaito Pan {20 + i} cm", "category": "Home > Pans"}
            )
    rows.insert(5, {"id": "bad", "title": "", "category": "Home > Pans"})
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return catalog, schema, verified


def settings(home: Path, *, learning: bool) -> Settings:
    return Settings(
        home=home,
        generators=[GeneratorConfig(model="scripted:echo")],
        evaluator=None,
        supervisor="scripted:echo",
        batch_size=4,
        concurrency=2,
        learning=learning,
    )


async def run(
    tmp_path: Path,
    name: str,
    *,
    ray_options: RayOptions | None,
    learning: bool,
    url: str | None = None,
) -> tuple[Path, Database]:
    catalog, schema, verified = files(tmp_path)
    home = tmp_path / name
    db = Database.open(url, home=home)
    out = tmp_path / f"{name}.jsonl"
    async with ModelPool() as pool:
        runner = Runner(
            settings(home, learning=learning), db=db, open_model=pool.get, ray=ray_options
        )
        await runner.run(RunRequest(catalog, schema, out, run_id="r1", verified_path=verified))
    return out, db


async def test_the_ray_engine_writes_what_the_local_runner_writes(
    tmp_path: Path, cluster: None
) -> None:
    local, _ = await run(tmp_path, "local", ray_options=None, learning=False)
    on_ray, db = await run(tmp_path, "ray", ray_options=RayOptions(actors=2), learning=False)
    assert on_ray.read_text(encoding="utf-8") == local.read_text(encoding="utf-8")
    lines = on_ray.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25 and json.loads(lines[5])["error"]
    # One row per product, each with its model calls.
    assert RunStore(db, "r1").done_seqs() == set(range(25))


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_learning_run_on_ray_commits_every_product_once_and_learns(
    tmp_path: Path, cluster: None, store: str
) -> None:
    # The knowledge base is shared through the database: on PostgreSQL, as across machines.
    url = None
    if store == "postgresql":
        url = os.environ.get("DISSENSUS_TEST_PG_URL")
        if not url:
            pytest.skip("set DISSENSUS_TEST_PG_URL=postgresql+psycopg://... to run on PostgreSQL")
        reset_database(url)
    out, db = await run(tmp_path, "learn", ray_options=RayOptions(actors=2), learning=True, url=url)
    try:
        rows = RunStore(db, "r1").rows()
        assert sorted(r.seq for r in rows) == list(range(25))
        assert len(out.read_text(encoding="utf-8").splitlines()) == 25
        # Both actors wrote to the one database: every valid product's calls, once.
        with db.read() as session:
            seqs = list(session.scalars(select(ModelCall.seq).where(ModelCall.run_id == "r1")))
        assert set(seqs) == set(range(25)) - {5}  # the invalid record called no model
        assert len(seqs) == sum(2 if r.supervisor_called else 1 for r in rows if r.seq != 5)
    finally:
        db.close()


async def test_a_killed_ray_run_resumes_where_it_stopped(tmp_path: Path, cluster: None) -> None:
    options = RayOptions(actors=2)
    out, db = await run(tmp_path, "resume", ray_options=options, learning=False)
    whole = out.read_text(encoding="utf-8")
    calls = RunStore(db, "r1").call_totals()
    # As if killed after 12 products: later rows gone, the output file cut mid-line.
    with db.write() as session:
        session.execute(delete(ModelCall).where(ModelCall.seq >= 12))
        session.execute(delete(ReviewItemRow).where(ReviewItemRow.seq >= 12))
        session.execute(delete(RunProduct).where(RunProduct.seq >= 12))
    out.write_text(
        whole[: len("".join(whole.splitlines(keepends=True)[:12])) + 5], encoding="utf-8"
    )
    again, db = await run(tmp_path, "resume", ray_options=options, learning=False)
    assert again.read_text(encoding="utf-8") == whole
    assert RunStore(db, "r1").call_totals() == calls  # the first 12 were not asked again


def test_a_retried_group_commits_nothing_twice(tmp_path: Path) -> None:
    # What Ray does after an actor died mid-task: the same group again, on a new actor.
    catalog, schema, verified = files(tmp_path, n=8)
    home = tmp_path / "home"
    with scratch_database(home) as db:
        store = RunStore(db, "r1")
        store.open(
            input_path=str(catalog),
            input_sha256="x",
            schema_path=str(schema),
            schema_sha256="y",
            config={},
            output_path=str(tmp_path / "o.jsonl"),
        )
        records = list(read_records(catalog))
        group = [
            b
            for b in _category_batches(records, 4)
            if b[0].product and b[0].product.category == "Home > Knives"
        ]
        kwargs = {
            "settings_json": settings(home, learning=True).model_dump_json(),
            "database_url": db.url,
            "run_id": "r1",
            "schema_path": str(schema),
            "verified_path": str(verified),
        }
        first = CategoryActor(**kwargs)
        assert first({"group": [_encode(group)]}) == {"committed": [4]}
        calls = store.call_totals()
        again = CategoryActor(**kwargs)
        assert again({"group": [_encode(group)]}) == {"committed": [0]}
        assert store.call_totals() == calls  # no model was asked again
        assert len(store.rows()) == 4
        # And a commit racing an earlier one keeps the first.
        row = store.rows()[0]
        assert (
            store.save(
                seq=row.seq,
                product_id=row.product_id,
                category=None,
                output={},
                disputed=0,
                supervisor_called=False,
                calls=[],
            )
            is False
        )
        assert store.record(row.seq)[0] == row.output  # type: ignore[index]
