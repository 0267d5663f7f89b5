"""Inventory rules: buckets, reasons, levels, demand, counts and quantity checks (docs/inventory.md).

A movement takes a positive quantity from one bucket to another. Two buckets are physically
in the location: ``on_hand`` (free on the shelf) and ``reserved`` (on the shelf, promised to a
reservation). A level's ``on_hand`` figure is everything physically there, so it sums both;
its ``reserved`` figure is the reserved bucket. The store server applies these rules; this
module does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pos_core.errors import InvalidQuantity, InvalidTimestamp

MAX_QUANTITY = 10_000_000
"""The most one movement or line may carry: ten tonnes in grams; more is a typing mistake."""
MAX_LINES = 500
MAX_SKU_LEN = 64
COUNT_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a count's time may lie, for a handheld whose clock runs fast: such a
count is taken as made now."""
MAX_COUNT_AGE = timedelta(days=7)
"""How long after counting a count may still be keyed in; an older time is a typing mistake,
or a count too old to tell what has happened to the shelf since."""


class Bucket(StrEnum):
    """Where units are, as seen from one location."""

    ON_HAND = "on_hand"
    """On the shelf and free: to sell or to reserve."""
    RESERVED = "reserved"
    """On the shelf but promised to a reservation (an online order or a cart hold)."""
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    TRANSIT = "transit"
    """Sent from one location and not yet received at the other."""
    WRITTEN_OFF = "written_off"
    """Damaged, expired or lost (shrink)."""
    ADJUSTMENT = "adjustment"
    """The other side of a physical count's correction."""


PHYSICAL = frozenset({Bucket.ON_HAND, Bucket.RESERVED})


class Reason(StrEnum):
    """Why a movement happened."""

    SALE = "sale"
    RETURN = "return"
    RECEIVE = "receive"
    COUNT = "count"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    DAMAGE = "damage"
    SHRINK = "shrink"
    RESERVATION = "reservation"
    RELEASE = "release"
    EXPIRY = "expiry"
    COMMIT = "commit"


ROUTES: Mapping[Reason, tuple[Bucket, Bucket]] = {
    Reason.SALE: (Bucket.ON_HAND, Bucket.CUSTOMER),
    Reason.RETURN: (Bucket.CUSTOMER, Bucket.ON_HAND),
    Reason.RECEIVE: (Bucket.SUPPLIER, Bucket.ON_HAND),
    Reason.TRANSFER_OUT: (Bucket.ON_HAND, Bucket.TRANSIT),
    Reason.TRANSFER_IN: (Bucket.TRANSIT, Bucket.ON_HAND),
    Reason.DAMAGE: (Bucket.ON_HAND, Bucket.WRITTEN_OFF),
    Reason.SHRINK: (Bucket.ON_HAND, Bucket.WRITTEN_OFF),
    Reason.RESERVATION: (Bucket.ON_HAND, Bucket.RESERVED),
    Reason.RELEASE: (Bucket.RESERVED, Bucket.ON_HAND),
    Reason.EXPIRY: (Bucket.RESERVED, Bucket.ON_HAND),
    Reason.COMMIT: (Bucket.RESERVED, Bucket.CUSTOMER),
}
"""From which bucket to which each reason moves; a count goes either way (``count_route``)."""


@dataclass(frozen=True, slots=True)
class Effect:
    """How one movement changes a level's figures."""

    on_hand: int
    reserved: int


def effect(from_bucket: str, to_bucket: str, quantity: int) -> Effect:
    """The change a movement of ``quantity`` makes to the level's on hand and reserved."""
    on_hand = (quantity if to_bucket in PHYSICAL else 0) - (quantity if from_bucket in PHYSICAL else 0)
    reserved = (quantity if to_bucket == Bucket.RESERVED else 0) - (quantity if from_bucket == Bucket.RESERVED else 0)
    return Effect(on_hand, reserved)


@dataclass(frozen=True, slots=True)
class Level:
    """One SKU at one location."""

    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int:
        """What may still be promised: on hand less reserved less safety stock."""
        return self.on_hand - self.reserved - self.safety_stock

    @property
    def shortfall(self) -> int:
        """Reserved units not physically covered (a sale or a count took them); never more
        than is reserved, so stock below zero with nothing reserved puts no one at risk."""
        return min(self.reserved, max(0, self.reserved - self.on_hand))

    def after(self, change: Effect) -> Level:
        return Level(self.on_hand + change.on_hand, self.reserved + change.reserved, self.safety_stock)


def resolve_safety_stock(product: int | None, category: int | None, store: int) -> int:
    """A SKU's safety stock: its own setting, else its category's, else the store's default."""
    if product is not None:
        return product
    if category is not None:
        return category
    return store


@dataclass(frozen=True, slots=True)
class StockLine:
    """A SKU and a quantity, as in an order, reservation, count or delivery."""

    sku: str
    quantity: int


def check_quantity(quantity: object, what: str, *, allow_zero: bool = False) -> int:
    """``quantity`` as a whole number from 1 (or 0) to ``MAX_QUANTITY``.

    Raises:
        InvalidQuantity: not a whole number, or out of range; ``what`` names it in the message.
    """
    low = 0 if allow_zero else 1
    if type(quantity) is not int or not low <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(
            f"The quantity of {what} must be a whole number from {low} to {MAX_QUANTITY}; got {quantity!r}."
        )
    return quantity


def check_lines(lines: Sequence[StockLine], what: str, *, allow_zero: bool = False) -> tuple[StockLine, ...]:
    """Lines with a SKU and a quantity in range each, at least one and at most ``MAX_LINES``.

    Raises:
        InvalidQuantity: no lines, too many, a line without a SKU, or a quantity out of range.
    """
    if not lines:
        raise InvalidQuantity(f"The {what} has no lines; add at least one SKU and quantity.")
    if len(lines) > MAX_LINES:
        raise InvalidQuantity(f"The {what} has {len(lines)} lines; split it into parts of at most {MAX_LINES}.")
    for no, line in enumerate(lines, 1):
        if not isinstance(line.sku, str) or not 0 < len(line.sku) <= MAX_SKU_LEN:
            raise InvalidQuantity(f"Line {no} of the {what} needs a SKU of 1 to {MAX_SKU_LEN} characters.")
        check_quantity(line.quantity, f"{line.sku} (line {no} of the {what})", allow_zero=allow_zero)
    return tuple(lines)


def demand_by_sku(lines: Iterable[StockLine]) -> dict[str, int]:
    """Quantities summed per SKU, in SKU order (the order rows are locked in, so no deadlocks)."""
    total: dict[str, int] = {}
    for line in lines:
        total[line.sku] = total.get(line.sku, 0) + line.quantity
    return dict(sorted(total.items()))


def grantable(demand: int, available: int) -> int:
    """How much of ``demand`` can be promised when ``available`` is free: never below zero."""
    return max(0, min(demand, available))


def allocate(lines: Sequence[StockLine], granted: Mapping[str, int]) -> list[int]:
    """Spread each SKU's granted quantity over its lines, first line first."""
    left = dict(granted)
    shares: list[int] = []
    for line in lines:
        share = min(line.quantity, left.get(line.sku, 0))
        left[line.sku] = left.get(line.sku, 0) - share
        shares.append(share)
    return shares


def utc_timestamp(text: object, what: str = "time") -> str:
    """``text`` (ISO 8601 with a zone) as UTC with microseconds, so stored times sort as text.

    Raises:
        InvalidTimestamp: not an ISO 8601 timestamp with a zone.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise InvalidTimestamp(f"The {what} must be an ISO 8601 timestamp with a time zone.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTimestamp(
            f"The {what} {text!r} is not an ISO 8601 timestamp; write it like 2026-11-27T10:15:00+00:00."
        ) from None
    if moment.tzinfo is None:
        raise InvalidTimestamp(f"The {what} {text!r} has no time zone; add one, like +00:00.")
    try:
        return iso(moment)
    except OverflowError:  # e.g. 0001-01-01T00:30+01:00 is before the first representable UTC instant
        raise InvalidTimestamp(f"The {what} {text!r} is out of range.") from None


def iso(moment: datetime) -> str:
    """A zone-aware time as stored: UTC, ISO 8601, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def expiry(now: datetime, ttl_s: int) -> str:
    """When a hold made at ``now`` for ``ttl_s`` seconds runs out."""
    return iso(now + timedelta(seconds=ttl_s))


# --- physical counts ---------------------------------------------------------------------------


def check_count_time(counted_at: str | None, now: datetime) -> str:
    """A count's time, normalised: ``now`` when none is given.

    A time ahead of ``now`` by at most ``COUNT_CLOCK_SKEW`` is a device's fast clock: the count
    was made now, and is taken so. Kept as given, it would pass for a count made after the
    sales rung up in between, which would then be absorbed (not taken off) when they sync.

    Raises:
        InvalidTimestamp: not a timestamp, further in the future, or more than
            ``MAX_COUNT_AGE`` ago.
    """
    if counted_at is None:
        return iso(now)
    return _recent(counted_at, "count time", now, "count the shelf again")


def check_return_time(returned_at: str, now: datetime) -> str:
    """When returned goods came back, normalised: a past time (``past_time``) at most
    ``MAX_COUNT_AGE`` ago, as for a count (a later count may absorb it: the two rules meet).

    Raises:
        InvalidTimestamp: not a timestamp, in the future, or more than ``MAX_COUNT_AGE`` ago.
    """
    return _recent(returned_at, "return time", now, "leave the time out to book the goods back on the shelf now")


def _recent(text: str, what: str, now: datetime, otherwise: str) -> str:
    normalised = past_time(text, what, now)
    if datetime.fromisoformat(normalised) < now - MAX_COUNT_AGE:
        raise InvalidTimestamp(
            f"The {what} {text} is more than {MAX_COUNT_AGE.days} days ago; check the date, or {otherwise}."
        )
    return normalised


def past_time(text: str, what: str, now: datetime) -> str:
    """When something already happened, normalised (``utc_timestamp``); a time ahead of ``now``
    by at most ``COUNT_CLOCK_SKEW`` is a device's fast clock, and taken as ``now``.

    Raises:
        InvalidTimestamp: not a timestamp, or further in the future.
    """
    normalised = utc_timestamp(text, what)
    at = datetime.fromisoformat(normalised)
    if at > now + COUNT_CLOCK_SKEW:
        raise InvalidTimestamp(f"The {what} {text} lies in the future; check the device's clock and send the time.")
    return iso(now) if at > now else normalised


def count_supersedes(counted_at: str, latest_applied_at: str | None) -> bool:
    """Whether a count at ``counted_at`` still sets the level.

    A count older than (or as old as) one already applied to the same SKU and location is
    kept for the record but changes nothing: the later count is the better truth.
    """
    return latest_applied_at is None or counted_at > latest_applied_at


def expected_at(on_hand_now: int, later_on_hand_effects: Iterable[int]) -> int:
    """What the books said was on hand at the count's time.

    ``later_on_hand_effects`` are the on-hand effects of movements that happened after the
    count's time (already recorded, e.g. a count keyed in late while the shop kept selling).
    """
    return on_hand_now - sum(later_on_hand_effects)


def count_route(delta: int) -> tuple[Bucket, Bucket, int] | None:
    """The movement that corrects on hand by ``delta``: found goods come from the adjustment
    bucket, missing goods go to it; None when the count agrees with the books."""
    if delta > 0:
        return Bucket.ADJUSTMENT, Bucket.ON_HAND, delta
    if delta < 0:
        return Bucket.ON_HAND, Bucket.ADJUSTMENT, -delta
    return None


def absorbed_by(occurred_at: str, counts: Iterable[tuple[str, str]]) -> str | None:
    """The count that already saw a movement which happened before it but is recorded after it.

    Args:
        occurred_at: when the movement happened (UTC, as ``utc_timestamp`` gives).
        counts: ``(count id, counted_at)`` of the counts applied to the same SKU and location.

    Returns:
        The id of the earliest count made after the movement happened, or None. That count
        counted the shelf without the goods, so the movement must not take them off again:
        the server records it with an equal and opposite count correction.
    """
    later = [(at, count_id) for count_id, at in counts if at > occurred_at]
    return min(later)[1] if later else None
