"""What a storefront knows from the feed: the epoch, the last seq it processed, the stock levels
and the open reservations.

No I/O: ``feed_client.FeedConsumer`` feeds frames in; a storefront may keep a ``FeedMirror``
as its own record of the store's stock, or just its ``epoch`` and ``last_seq`` to resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from store_server.feed_event import FeedEvent
from store_server.feed_protocol import LEVEL_FIELDS, SNAPSHOT_BEGIN, STOCK_CHANGED, FeedProtocolError

RESERVATION_OPEN = frozenset({"reservation.granted", "reservation.updated"})
"""Events after which the reservation is pending, holding its ``lines``."""
RESERVATION_CLOSED = frozenset({"reservation.committed", "reservation.released", "reservation.expired"})

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
class HeldStock:
    """An open (pending) reservation: what it holds, per SKU, at one location, until when."""

    reservation_id: str
    location: str
    expires_at: str | None
    """None while its order is being picked: it no longer expires."""
    order_id: str | None
    lines: Mapping[str, int]

    @classmethod
    def from_wire(cls, data: Any) -> HeldStock:
        """Read a reservation as in ``snapshot.reservations`` and the ``reservation.*`` events.

        Raises:
            FeedProtocolError: a field is missing or of the wrong type.
        """
        try:
            lines = {line["sku"]: line["quantity"] for line in data["lines"]}
            held = cls(data["reservation_id"], data["location"], data["expires_at"], data["order_id"], lines)
        except (KeyError, TypeError):
            raise FeedProtocolError(f"A reservation from the store server is malformed: {data!r}.") from None
        if not isinstance(held.reservation_id, str) or not all(type(q) is int for q in lines.values()):
            raise FeedProtocolError(f"A reservation from the store server is malformed: {data!r}.")
        return held


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every stock level and open reservation of the store exactly as of ``as_of_seq`` in ``epoch``."""

    epoch: str
    as_of_seq: int
    levels: Mapping[LevelKey, StockFigures]
    reservations: Mapping[str, HeldStock] = field(default_factory=dict)
    """Reservation id -> what it holds; a level's ``reserved`` is the sum of these there."""


class SnapshotAssembly:
    """Collects ``snapshot.begin``, ``snapshot.stock`` ... ``snapshot.end`` into one ``Snapshot``.

    Raises (every method):
        FeedProtocolError: the frames do not make one complete snapshot.
    """

    def __init__(self, begin: dict[str, Any]) -> None:
        epoch, as_of, count = begin.get("epoch"), begin.get("as_of_seq"), begin.get("levels")
        if not isinstance(epoch, str) or type(as_of) is not int or type(count) is not int:
            raise FeedProtocolError(f"A {SNAPSHOT_BEGIN} frame needs a string epoch and integer as_of_seq and levels.")
        held = begin.get("reservations")  # absent from a server before revision 4
        if held is not None and type(held) is not int:
            raise FeedProtocolError(f"A {SNAPSHOT_BEGIN} frame's reservations must be an integer.")
        self.epoch = epoch
        self.as_of_seq = as_of
        self.expected = count
        self.expected_reservations: int | None = held
        self.levels: dict[LevelKey, StockFigures] = {}
        self.reservations: dict[str, HeldStock] = {}

    def add(self, frame: dict[str, Any]) -> None:
        levels = frame.get("levels")
        if not isinstance(levels, list):
            raise FeedProtocolError("A snapshot.stock frame needs a list of levels.")
        for data in levels:
            key, figures = StockFigures.from_wire(data)
            self.levels[key] = figures

    def add_reservations(self, frame: dict[str, Any]) -> None:
        found = frame.get("reservations")
        if not isinstance(found, list):
            raise FeedProtocolError("A snapshot.reservations frame needs a list of reservations.")
        for data in found:
            held = HeldStock.from_wire(data)
            self.reservations[held.reservation_id] = held

    def finish(self, end: dict[str, Any]) -> Snapshot:
        if end.get("as_of_seq") != self.as_of_seq or end.get("epoch") != self.epoch:
            raise FeedProtocolError("A snapshot ended with another epoch or as_of_seq than it began with.")
        if len(self.levels) != self.expected:
            raise FeedProtocolError(f"A snapshot announced {self.expected} levels but carried {len(self.levels)}.")
        carried = len(self.reservations)
        if self.expected_reservations is not None and carried != self.expected_reservations:
            raise FeedProtocolError(
                f"A snapshot announced {self.expected_reservations} reservations but carried {carried}."
            )
        return Snapshot(self.epoch, self.as_of_seq, self.levels, self.reservations)


@dataclass(slots=True)
class FeedMirror:
    """A consumer's position in the feed, its copy of the store's stock levels and open reservations.

    ``last_seq`` is the last seq fully processed: subscribe with it (and ``epoch``) to resume.
    """

    epoch: str | None = None
    last_seq: int = 0
    levels: dict[LevelKey, StockFigures] = field(default_factory=dict)
    reservations: dict[str, HeldStock] = field(default_factory=dict)
    """Pending reservations by id: from the last snapshot, then kept by the ``reservation.*`` events.
    A mirror that began with a replay rather than a snapshot knows only those granted since."""

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

    def apply_reservation(self, event: FeedEvent) -> None:
        """Keep the open reservations: a granted or updated one holds its lines, a closed one is gone.

        Raises:
            FeedProtocolError: the event's reservation is malformed.
        """
        if event.type in RESERVATION_OPEN:
            held = HeldStock.from_wire(event.data)
            self.reservations[held.reservation_id] = held
        elif event.type in RESERVATION_CLOSED:
            self.reservations.pop(str(event.data.get("reservation_id")), None)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Replace everything with the snapshot: its levels, reservations, epoch and seq."""
        self.levels = dict(snapshot.levels)
        self.reservations = dict(snapshot.reservations)
        self.epoch = snapshot.epoch
        self.last_seq = snapshot.as_of_seq
