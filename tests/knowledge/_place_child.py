"""One process placing the same value learnings as its siblings: ``python _place_child.py URL``.

Waits for ``URL``'s database to exist, then places 12 value learnings of one category with no
model (data learnings need none), as fast as it can, so that the parent's processes race.
"""

from __future__ import annotations

import asyncio
import sys

from dissensus.domain import LearningDraft
from dissensus.knowledge import KnowledgeBase, MemoryManager
from dissensus.storage import Database

VALUES = [f"Brand{i:02d}" for i in range(12)]


async def place(url: str) -> None:
    with Database.open(url) as db:
        manager = MemoryManager(KnowledgeBase(db), None, status="active")
        for value in VALUES:
            await manager.place(
                LearningDraft(
                    category="Home > Knives",
                    attributes=["Brand"],
                    kind="value",
                    values={"Brand": value},
                    text=f"Brand: {value!r} is a value of this category",
                    evidence=f"{value} Chef Knife",
                ),
                source=f"case-{value}",
            )


if __name__ == "__main__":
    asyncio.run(place(sys.argv[1]))
