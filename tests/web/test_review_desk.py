"""The review desk: suggestions to accept, submit-and-next, filters, paging and bulk confirm."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from dissensus.review import ReviewQueue

from . import conftest
from .conftest import Seeded

ClientAs = Callable[[str], tuple[TestClient, str]]


def add_audit_items(seeded: Seeded, seqs: list[int], run_id: str = "run-2") -> list[int]:
    """Audit samples on complete records of ``run_id`` (their values are only to be confirmed)."""
    queue = ReviewQueue(seeded.db)
    with seeded.db.write() as session:
        for seq in seqs:
            record = conftest._record(f"k{seq}", [], waiting=False)
            ticket = conftest._ticket(record).model_copy(
                update={"reason": "audit", "attributes": ["Brand", "Knife type"]}
            )
            queue.add(session, ticket, run_id=run_id, seq=seq)
    return [i.id for i in queue.list(reason="audit")]


def test_the_item_page_offers_every_models_value_to_accept(
    client_as: ClientAs, seeded: Seeded
) -> None:
    client, _ = client_as("reviewer")
    page = client.get(f"/review/{seeded.item_id}").text
    # Supervisor first, then the generators; each value once with who proposed it.
    assert 'data-value="Kaito"' in page and 'data-value="Kaito Chef"' in page
    assert page.index('data-value="Kaito"') < page.index('data-value="Kaito Chef"')
    assert "supervisor, generator-a" in page
    # Each with a score: the supervisor's confidence, else the share of voices behind it.
    assert re.search(r"supervisor, generator-a · 0\.\d\d</small>", page), page
    assert "generator-b · 0.50</small>" in page
    assert '<option value="Kaito">' in page  # the datalist: suggestions without JavaScript
    assert "autofocus" in page and 'id="submit-next"' in page
    assert '<script src="/static/review.js" defer></script>' in page
    assert client.get("/static/review.js").status_code == 200


def test_submit_and_next_opens_the_next_item_claimed(client_as: ClientAs, seeded: Seeded) -> None:
    (audit,) = add_audit_items(seeded, [0])
    client, csrf = client_as("reviewer")
    client.post(f"/review/{seeded.item_id}/claim", data={"csrf_token": csrf})
    done = client.post(
        f"/review/{seeded.item_id}/submit",
        data={
            "csrf_token": csrf,
            "value:Brand": "Kaito",
            "value:Knife type": "Chef",
            "then": "next",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/review/{audit}"
    page = client.get(done.headers["location"]).text
    assert f"Item {seeded.item_id} submitted; changed: Brand." in page
    assert "claimed by <strong>rita</strong>" in page
    # Nothing left: back to the queue, saying so.
    last = client.post(
        f"/review/{audit}/submit", data={"csrf_token": csrf, "then": "next"}, follow_redirects=True
    )
    assert "The review queue is empty." in last.text


def test_the_queue_filters_searches_and_pages(client_as: ClientAs, seeded: Seeded) -> None:
    add_audit_items(seeded, [0, 2])
    client, _ = client_as("viewer")
    everything = client.get("/review?state=open").text
    assert "Items 1–3 of 3" in everything and "Kaito Chef Knife 20 cm" in everything  # titles
    audit = client.get("/review?state=open&reason=audit").text
    assert "Items 1–2 of 2" in audit
    assert "Items 1–3 of 3" in client.get("/review?q=KAITO").text  # case-insensitive, in titles
    assert "No open items match the filters." in client.get("/review?q=zzz").text
    assert "Items 1–2 of 2" in client.get("/review?run=run-2").text
    assert "Items 1–3 of 3" in client.get("/review?category=Home").text
    assert "No open items" in client.get("/review?category=Home > Kni").text
    # The reason chips are links that filter.
    assert 'href="/review?state=open&amp;reason=audit"' in everything


def test_paging_past_fifty_items(client_as: ClientAs, seeded: Seeded) -> None:
    queue = ReviewQueue(seeded.db)
    from dissensus.storage.tables import RunProduct

    with seeded.db.write() as session:
        for seq in range(3, 63):
            record = conftest._record(f"x{seq}", [], waiting=False)
            session.add(
                RunProduct(
                    run_id="run-2", seq=seq, product_id=record.id, category=record.category,
                    output=record.model_dump(mode="json"), disputed_attributes=0,
                    supervisor_called=False, input_tokens=0, output_tokens=0,
                )
            )  # fmt: skip
        session.flush()
        for seq in range(3, 63):
            record = conftest._record(f"x{seq}", [], waiting=False)
            queue.add(session, conftest._ticket(record), run_id="run-2", seq=seq)
    client, _ = client_as("viewer")
    first = client.get("/review").text
    assert "Items 1–50 of 61" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/review?state=open&page=2").text
    assert "Items 51–61 of 61" in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_bulk_confirm_submits_the_selected_audit_samples_as_they_are(
    client_as: ClientAs, seeded: Seeded
) -> None:
    ids = add_audit_items(seeded, [0, 2])
    client, csrf = client_as("reviewer")
    page = client.get("/review?reason=audit").text
    assert page.count('type="checkbox" name="item"') == 2
    done = client.post(
        "/review/confirm",
        data={"csrf_token": csrf, "item": [str(i) for i in ids], "back": "/review?reason=audit"},
        follow_redirects=True,
    )
    assert f"Confirmed 2 item(s): #{ids[0]}, #{ids[1]}." in done.text
    queue = ReviewQueue(seeded.db)
    for item_id in ids:
        detail = queue.get(item_id)
        assert (detail.state, detail.closed_by) == ("done", "rita")
        assert detail.submission is not None and detail.submission.changed == []
    nothing = client.post("/review/confirm", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Select the items to confirm first." in nothing.text
    viewer, vcsrf = client_as("viewer")
    assert (
        viewer.post("/review/confirm", data={"csrf_token": vcsrf, "item": "1"}).status_code == 403
    )


def test_a_signal_item_shows_the_signal_beside_the_product(
    client_as: ClientAs, seeded: Seeded
) -> None:
    from dissensus.domain import Product
    from dissensus.review import SignalNote

    item_id = ReviewQueue(seeded.db).raise_signal(
        run_id="run-2",
        seq=0,
        product=Product(id="k0", title="Kaito Chef Knife 20 cm", category="Home > Knives"),
        attributes=conftest.ATTRIBUTES,
        notes=[
            SignalNote(
                kind="appeal", author="seller-7", attribute="Brand", text="<b>our</b> brand",
                claimed_value="Kaito", published_value="Kaito Chef", resolved_value="Kaito",
            )
        ],
    )  # fmt: skip
    client, _ = client_as("viewer")
    page = client.get(f"/review/{item_id}").text
    assert "Signals the supervisor upheld" in page and "seller-7" in page
    assert "<q>&lt;b&gt;our&lt;/b&gt; brand</q>" in page  # quoted, never markup
    assert "signal" in client.get("/review?reason=signal").text
