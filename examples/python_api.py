"""The Python API in one file: enrich products held in memory, then read what the run stored.

Runs offline in a second with scripted models (``python examples/python_api.py``); drop the
``settings=`` lines to use the embedded local models instead. DISSENSUS_HOME says where the
database goes (default ~/.dissensus).
"""

from __future__ import annotations

import dissensus

SCHEMA = {
    "categories": [
        {
            "path": "Home > Kitchen > Knives",
            "attributes": [
                {"name": "Brand", "description": "The maker, as written"},
                {"name": "Blade length", "description": "With its unit"},
            ],
        }
    ]
}
PRODUCTS = [
    {"id": "k1", "title": "Kaito 8in Chef Knife", "category": "Home > Kitchen > Knives"},
    {"id": "k2", "title": "Nakano Santoku 7in", "category": "Home > Kitchen > Knives"},
]


def main() -> None:
    # Scripted models answer instantly and offline; the defaults are the embedded GGUF models.
    settings = dissensus.Settings(
        generators=[dissensus.GeneratorConfig(model="scripted:echo")] * 2,
        supervisor="scripted:echo",
        learning=False,
    )
    result = dissensus.enrich(PRODUCTS, SCHEMA, settings=settings)
    print(f"run {result.run_id}: {result.summary.products} products")
    for record in result.records:
        values = {name: a.value for name, a in record.attributes.items()}
        print(record.id, values)

    db = dissensus.Database.open(settings.database_url, home=settings.home)
    run = dissensus.get_run(db, result.run_id)
    print(f"status {run.status}, disagreement {run.disagreement_rate:.0%}")
    calls = dissensus.CallLog(db).calls(run_id=result.run_id, limit=None)
    print(f"{len(calls)} model calls logged; the first was {calls[0].role} on {calls[0].model}")


if __name__ == "__main__":
    main()
