"""Track records in the database: counted per exact node, incremented, never lost."""

from __future__ import annotations

from dissensus.domain import TrackCounts
from dissensus.knowledge import TrackRecords
from dissensus.storage import Database

KEPT, ABSENT, REPLACED = TrackCounts(upheld=1), TrackCounts(absent=1), TrackCounts(replaced=1)


def test_rulings_are_counted_per_node_attribute_and_role(db: Database) -> None:
    track = TrackRecords(db)
    track.add("/home/knives", [("Color", "generator-a", ABSENT), ("Brand", "generator-a", KEPT)])
    track.add("/home/knives", [("Color", "generator-a", ABSENT), ("Color", "lexicon", REPLACED)])
    track.add("/home", [("Color", "generator-a", KEPT)])
    track.add("/home", [])
    assert track.for_category("/home/knives") == {
        ("Color", "generator-a"): TrackCounts(absent=2),
        ("Brand", "generator-a"): TrackCounts(upheld=1),
        ("Color", "lexicon"): TrackCounts(replaced=1),
    }
    # A parent's record is its own: the child's rulings do not add to it.
    assert track.for_category("/home") == {("Color", "generator-a"): TrackCounts(upheld=1)}
    assert track.for_category("/garden") == {}


def test_two_writers_on_one_counter_lose_nothing(db: Database) -> None:
    first, second = TrackRecords(db), TrackRecords(db)
    for _ in range(5):
        first.add("/shoes", [("Size", "generator-a", ABSENT)])
        second.add("/shoes", [("Size", "generator-a", ABSENT), ("Size", "generator-a", KEPT)])
    assert first.for_category("/shoes") == {("Size", "generator-a"): TrackCounts(5, 10, 0)}
