"""Several threads changing one knowledge base at once keep it and its history consistent."""

from __future__ import annotations

import threading

from dissensus.knowledge import KnowledgeBase

from .conftest import path


def test_concurrent_writers_lose_no_change_and_no_event(kb: KnowledgeBase) -> None:
    threads, each = 6, 10
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(each):
                # Every thread creates the same nodes: creation must stay idempotent under races.
                key = kb.ensure_path(path(f"Shoes > Line {i % 3}"), actor=f"t{n}")
                learning = kb.add(node_key=key, text=f"Rule {n}-{i}.", actor=f"t{n}")
                kb.merge(learning.id, text=f"Rule {n}-{i}, merged.", actor=f"t{n}")
                kb.record_uses([learning.id])
        except BaseException as exc:  # collected: an assert in a thread would be lost
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    learnings = kb.list()
    assert len(learnings) == threads * each
    assert {(lr.version, lr.uses) for lr in learnings} == {(2, 1)}
    ops = [e.op for e in kb.history()]
    assert ops.count("create_node") == 1 + 1 + 3  # root, /shoes, three lines: never twice
    assert ops.count("add") == ops.count("merge") == threads * each
    assert [e.seq for e in kb.history()] == list(range(1, kb.version() + 1))
