"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A reviewer logs in, approves a proposed learning and resolves a review item; the test then
reads the knowledge base and the stored output record (and the run's output file) to check
that both changed. Each main page is saved as a screenshot under ``out/screenshots/`` in the
test's temporary directory, and also copied to ``$DISSENSUS_SCREENSHOTS`` when that is set
(``DISSENSUS_SCREENSHOTS=docs/screenshots make test`` refreshes the README's pictures).

``make test`` installs Chromium (apt) and Playwright (the dev extra); the test skips, saying
why, only where one of them is missing. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from dissensus.knowledge import KnowledgeBase
from dissensus.storage.tables import RunProduct

from .conftest import PASSWORD, USERS, Seeded

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--headless",
]
PAGES = ["dashboard", "knowledge", "learning", "history", "diff", "review-queue", "review-item"]


def _playwright() -> Any:
    """Playwright's sync API, or a skip that says what is missing (Playwright or Chromium)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (make test does)")
    return sync_api


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_reviewer_approves_a_learning_and_resolves_an_item_in_chromium(
    server: str, seeded: Seeded, tmp_path: Path
) -> None:
    sync_api = _playwright()
    shots = tmp_path / "out" / "screenshots"
    shots.mkdir(parents=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            expect = sync_api.expect

            def shot(name: str) -> None:
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

            # Log in.
            page.goto(f"{server}/")
            expect(page).to_have_url(f"{server}/login?next=/")
            page.fill("input[name=name]", USERS["reviewer"])
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Log in')")
            expect(page.locator(".flash")).to_contain_text("Logged in as rita (reviewer)")
            expect(page.locator("h1")).to_have_text("Dashboard")
            for chart in page.locator(".charts img").all():
                expect(chart).to_have_js_property("complete", True)
            # Every server-drawn chart loaded (a broken image has no natural width).
            widths = page.eval_on_selector_all(
                ".charts img", "imgs => imgs.map(i => i.naturalWidth)"
            )
            assert len(widths) == 5 and all(w > 0 for w in widths), widths
            shot("dashboard")

            # Approve the proposed learning from its page.
            page.click("nav >> text=Knowledge")
            expect(page.locator("h1")).to_contain_text("Knowledge base")
            shot("knowledge")
            page.click(f".pending a:has-text('{seeded.proposed_id}')")
            expect(page.locator("h1")).to_contain_text(seeded.proposed_id)
            expect(page.locator("body")).to_contain_text(
                "the knife type follows the brand in the title"
            )
            page.fill(".actions input[name=reason]", "checked against three listings")
            page.click(".actions button:has-text('Approve')")
            expect(page.locator(".flash")).to_contain_text(
                f"Approved {seeded.proposed_id}; it is active."
            )
            shot("learning")
            page.click("nav >> text=History")
            expect(page.locator("tbody tr").first).to_contain_text("approve")
            shot("history")
            page.click("nav >> text=Diff")
            expect(page.locator("h1")).to_contain_text("Changes from version")
            shot("diff")

            # Claim the review item and answer it.
            page.click("nav >> text=Review")
            expect(page.locator("h1")).to_contain_text("1 open")
            shot("review-queue")
            page.click("button:has-text('Claim the next item')")
            expect(page.locator("h1")).to_contain_text(f"Review item #{seeded.item_id}")
            expect(page.locator("body")).to_contain_text("claimed by rita")
            shot("review-item")
            page.fill("#answer input[name='value:Brand']", "Kaito")
            page.click("#answer button[value=stay]")
            expect(page.locator(".flash").first).to_contain_text(
                f"Item {seeded.item_id} submitted; changed: Brand."
            )
            expect(page.locator("body")).to_contain_text("submitted by rita")
        finally:
            browser.close()

    # The knowledge base changed, by the reviewer.
    kb = KnowledgeBase(seeded.db)
    learning = kb.get(seeded.proposed_id)
    assert (learning.status, learning.approved) == ("active", True)
    event = kb.history(learning_id=seeded.proposed_id)[-1]
    assert (event.op, event.actor, event.reason) == (
        "approve",
        "rita",
        "checked against three listings",
    )
    # The output record changed: stored, and in the run's output file.
    with seeded.db.read() as session:
        row = session.get(RunProduct, ("run-1", 1))
        assert row is not None
        brand = row.output["attributes"]["Brand"]
    assert (brand["value"], brand["status"], brand["confidence"]) == ("Kaito", "human", 1.0)
    lines = seeded.output_path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["attributes"]["Brand"]["status"] == "human"

    assert sorted(p.stem for p in shots.glob("*.png")) == sorted(PAGES)
    target = os.environ.get("DISSENSUS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy2(png, Path(target) / png.name)


def _seed_desk_items(seeded: Seeded) -> tuple[int, int]:
    """Two items on run-2: one with three attributes and suggestions, then one to land on."""
    from dissensus.domain import AttributeResult, AttributeSpec, EnrichedRecord, Extraction
    from dissensus.review import ReviewQueue

    from . import conftest

    specs = [*conftest.ATTRIBUTES, AttributeSpec(name="Blade length", description="With unit")]
    queue = ReviewQueue(seeded.db)
    with seeded.db.write() as session:
        for seq in (0, 2):
            waiting = AttributeResult(value=None, status="needs_review", confidence=0.0)
            record = EnrichedRecord(
                id=f"k{seq}",
                category="Home > Knives",
                attributes={"Brand": waiting, "Knife type": waiting, "Blade length": waiting},
            )
            base = conftest._ticket(record)
            context = base.context.model_copy(
                update={
                    "attributes": specs,
                    "extractions": [
                        Extraction(
                            model="scripted:gen-a", role="generator-a",
                            values={"Brand": "Kaito", "Knife type": "Chef", "Blade length": "8in"},
                        ),
                        Extraction(
                            model="scripted:gen-b", role="generator-b",
                            values={"Brand": "Kaito Chef", "Blade length": "20"},
                        ),
                    ],
                }
            )  # fmt: skip
            ticket = base.model_copy(
                update={"attributes": ["Brand", "Knife type", "Blade length"], "context": context}
            )
            queue.add(session, ticket, run_id="run-2", seq=seq)
    first, second = (i.id for i in queue.list(run_id="run-2"))
    return first, second


def _seed_audit_items(seeded: Seeded) -> list[int]:
    """Audit samples on run-1's complete records 0 and 2 (values to confirm as they are)."""
    from dissensus.review import ReviewQueue

    from . import conftest

    queue = ReviewQueue(seeded.db)
    with seeded.db.write() as session:
        for seq in (0, 2):
            record = conftest._record(f"k{seq}", [], waiting=False)
            ticket = conftest._ticket(record).model_copy(update={"reason": "audit"})
            queue.add(session, ticket, run_id="run-1", seq=seq)
    return [item.id for item in queue.list(reason="audit")]


def test_a_reviewer_works_an_item_by_keyboard_alone_and_lands_on_the_next(
    server: str, seeded: Seeded, tmp_path: Path
) -> None:
    """Claim, accept two suggestions, correct one, submit and next: keys only, timed."""
    sync_api = _playwright()
    # Ours come after the seeded needs_human item in claim order, so the first is opened by id.
    first, second = _seed_desk_items(seeded)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            expect = sync_api.expect
            page.goto(f"{server}/login")
            page.fill("input[name=name]", USERS["reviewer"])
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            expect(page.locator("h1")).to_have_text("Dashboard")
            page.goto(f"{server}/review/{first}")
            keys: list[str] = []

            def press(key: str) -> None:
                keys.append(key)
                page.keyboard.press(key)

            started = time.perf_counter()
            # Claim: the item page's first button (Tab from the page, then Enter).
            page.locator("form[action$='/claim'] button").focus()
            press("Enter")
            expect(page.locator("body")).to_contain_text("claimed by rita")
            # The first reviewed field has the focus: take the supervisor's Brand.
            expect(page.locator("#answer input[name='value:Brand']")).to_be_focused()
            press("Alt+1")
            press("Tab")  # Knife type (a select): the generator's Chef
            press("Alt+1")
            press("Tab")  # Blade length: neither "8in" nor "20" is right
            for key in ("Control+a", "Backspace"):
                press(key)
            page.keyboard.type("20 cm")
            keys.append("type:20 cm")
            press("Control+Enter")
            # The next item in claim order (the seeded needs_human one comes before ours).
            expect(page.locator(".flash").first).to_contain_text(f"Item {first} submitted")
            seconds = time.perf_counter() - started
            landed = int(page.url.rsplit("/", 1)[1])
            assert landed != first and landed in (seeded.item_id, second)
            expect(page.locator("body")).to_contain_text("claimed by rita")
            page.screenshot(path=str(tmp_path / "review-desk.png"), full_page=True)

            # Bulk confirm: two audit samples, selected on the filtered queue, confirmed at once.
            audits = _seed_audit_items(seeded)
            page.goto(f"{server}/review?state=open&reason=audit")
            expect(page.locator(".pager")).to_contain_text("Items 1–2 of 2")
            for box in page.locator("input[name=item]").all():
                box.check()
            page.click("button:has-text('Confirm the selected audit samples')")
            expect(page.locator(".flash").first).to_contain_text(
                f"Confirmed 2 item(s): #{audits[0]}, #{audits[1]}."
            )
            expect(page.locator(".pager")).to_contain_text("No items")
        finally:
            browser.close()
    from dissensus.review import ReviewQueue

    done = ReviewQueue(seeded.db).get(first)
    assert done.submission is not None
    assert done.submission.values == {
        "Brand": "Kaito",
        "Knife type": "Chef",
        "Blade length": "20 cm",
    }
    # The path in numbers: keys pressed (typing counted once) and seconds, claim to next item.
    print(f"review desk by keyboard: {len(keys)} keys, {seconds:.2f} s: {keys}")
    assert len(keys) <= 9
    target = os.environ.get("DISSENSUS_SCREENSHOTS")
    if target:
        shutil.copy2(tmp_path / "review-desk.png", Path(target) / "review-desk.png")
