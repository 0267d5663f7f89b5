"""What a storefront knows from the feed: the epoch, the last seq it processed, the stock levels.

No I/O: ``feed_client.FeedConsumer`` feeds frames in; a storefront may keep a ``FeedMirror``
as its own record of the store's stock, or just its ``epoch`` and ``last_seq`` to resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from store_server.feed_event import FeedEvent
from store_server.feed_protocol import LEVEL_FIELDS, SNAPSHOT_BEGIN, STOCK_CHANGED, FeedProtocolError

LevelKey = tuple[str, str]
"""``(sku, location)``."""


@dataclass(frozen=True, slots=True)
class StockFigures:
    """One SKU's absolute figures at one location; ``available = on_hand - reserved - safety_stock``."""

    on_hand: int
    reserved: int
    safety_stock: int
    available: int

    @classmethod
    def from_wire(cls, data: Any) -> tuple[LevelKey, StockFigures]:
        """Read a level as in ``snapshot.stock`` and ``stock.changed``.

        Raises:
            FeedProtocolError: a field is missing or of the wrong type.
        """
        if not isinstance(data, dict):
            raise FeedProtocolError("A stock level from the store server is not an object.")
        sku, location = data.get("sku"), data.get("location")
        figures = [value for value in (data.get(name) for name in LEVEL_FIELDS) if type(value) is int]
        if not isinstance(sku, str) or not isinstance(location, str) or len(figures) != len(LEVEL_FIELDS):
            raise FeedProtocolError(f"A stock level from the store server is malformed: {data!r}.")
        on_hand, reserved, safety_stock, available = figures
        return (sku, location), cls(on_hand, reserved, safety_stock, available)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every stock level of the store exactly as of ``as_of_seq`` in ``epoch``."""

    epoch: str
    as_of_seq: int
    levels: Mapping[LevelKey, StockFigures]


class SnapshotAssembly:
    """Collects ``snapshot.begin``, ``snapshot.stock`` ... ``snapshot.end`` into one ``Snapshot``.

    Raises (every method):
        FeedProtocolError: the frames do not make one complete snapshot.
    """

    def __init__(self, begin: dict[str, Any]) -> None:
        epoch, as_of, count = begin.get("epoch"), begin.get("as_of_seq"), begin.get("levels")
        if not isinstance(epoch, str) or type(as_of) is not int or type(count) is not int:
            raise FeedProtocolError(f"A {SNAPSHOT_BEGIN} frame needs a string epoch and integer as_of_seq and levels.")
        self.epoch = epoch
        self.as_of_seq = as_of
        self.expected = count
        self.levels: dict[LevelKey, StockFigures] = {}

    def add(self, frame: dict[str, Any]) -> None:
        levels = frame.get("levels")
        if not isinstance(levels, list):
            raise FeedProtocolError("A snapshot.stock frame needs a list of levels.")
        for data in levels:
            key, figures = StockFigures.from_wire(data)
            self.levels[key] = figures

    def finish(self, end: dict[str, Any]) -> Snapshot:
        if end.get("as_of_seq") != self.as_of_seq or end.get("epoch") != self.epoch:
            raise FeedProtocolError("A snapshot ended with another epoch or as_of_seq than it began with.")
        if len(self.levels) != self.expected:
            raise FeedProtocolError(f"A snapshot announced {self.expected} levels but carried {len(self.levels)}.")
        return Snapshot(self.epoch, self.as_of_seq, self.levels)


@dataclass(slots=True)
class FeedMirror:
    """A consumer's position in the feed and its copy of the store's stock levels.

    ``last_seq`` is the last seq fully processed: subscribe with it (and ``epoch``) to resume.
    """

    epoch: str | None = None
    last_seq: int = 0
    levels: dict[LevelKey, StockFigures] = field(default_factory=dict)

    def is_new(self, event: FeedEvent) -> bool:
        """False for an event already processed (delivery is at least once)."""
        return event.seq > self.last_seq

    def apply_levels(self, event: FeedEvent) -> None:
        """Take the absolute figures a ``stock.changed`` event carries; harmless to repeat.

        Raises:
            FeedProtocolError: the event's level is malformed.
        """
        if event.type == STOCK_CHANGED:
            key, figures = StockFigures.from_wire(event.data)
            self.levels[key] = figures

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Replace everything with the snapshot: its levels, epoch and seq."""
        self.levels = dict(snapshot.levels)
        self.epoch = snapshot.epoch
        self.last_seq = snapshot.as_of_seq
