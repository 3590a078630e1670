"""Several threads changing one knowledge base at once keep it and its history consistent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from dissensus.knowledge import KnowledgeBase

from .conftest import path


@pytest.fixture
def kb(any_kb: Any) -> KnowledgeBase:
    """Every store: SQLite, PostgreSQL and DynamoDB."""
    return any_kb  # type: ignore[no-any-return]


def in_threads(threads: int, work: Callable[[int], None]) -> None:
    """Run ``work(n)`` in ``threads`` threads at once; raise the first error any of them hit
    (an assert inside a thread would otherwise be lost)."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=guarded, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []


def test_concurrent_writers_lose_no_change_and_no_event(kb: KnowledgeBase) -> None:
    threads, each = 6, 10

    def work(n: int) -> None:
        for i in range(each):
            # Every thread creates the same nodes: creation must stay idempotent under races.
            key = kb.ensure_path(path(f"Shoes > Line {i % 3}"), actor=f"t{n}")
            learning = kb.add(node_key=key, text=f"Rule {n}-{i}.", actor=f"t{n}")
            kb.merge(learning.id, text=f"Rule {n}-{i}, merged.", actor=f"t{n}")
            kb.record_uses([learning.id])

    in_threads(threads, work)
    learnings = kb.list()
    assert len(learnings) == threads * each
    assert {(lr.version, lr.uses) for lr in learnings} == {(2, 1)}
    ops = [e.op for e in kb.history()]
    assert ops.count("create_node") == 1 + 1 + 3  # root, /shoes, three lines: never twice
    assert ops.count("add") == ops.count("merge") == threads * each
    seqs = [e.seq for e in kb.history()]
    assert seqs == sorted(set(seqs)) and seqs[-1] == kb.version()
    if isinstance(kb, KnowledgeBase):
        # SQL hands out seq inside the transaction; DynamoDB's counter moves before it, so a
        # node creation that lost a race leaves a gap there (the order still holds).
        assert seqs == list(range(1, kb.version() + 1))


def test_concurrent_confirmations_keep_every_source(kb: KnowledgeBase) -> None:
    # Confirming changes no version number, only the sources: the store must still see that
    # another writer changed the learning in between (DynamoDB: the item's revision).
    kb.ensure_path(path("Shoes"))
    learning = kb.add(
        node_key="/shoes", text="Rule.", sources=["r:0"], actor="t", status="proposed"
    )
    threads, each = 4, 5

    def work(n: int) -> None:
        for i in range(each):
            kb.confirm(learning.id, f"r:{n}-{i}", actor=f"t{n}")

    in_threads(threads, work)
    sources = kb.get(learning.id).sources
    assert sorted(sources) == sorted(
        ["r:0", *(f"r:{n}-{i}" for n in range(threads) for i in range(each))]
    )
    assert [e.op for e in kb.history(learning_id=learning.id)].count("confirm") == threads * each
