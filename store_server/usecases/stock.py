"""The stock ledger: every change is a movement, and the level row moves with it.

How a movement changes a level is ``pos_core.inventory.effect``: a level's ``on_hand`` is
everything physically at the location (the ``on_hand`` and ``reserved`` buckets), its
``reserved`` the reserved bucket. Reservations are granted only by ``grant_movement``'s
single conditional UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from pos_core.ids import new_id
from pos_core.inventory import Bucket, Level, effect, resolve_safety_stock
from store_server.db.models import Category, ProductRow, StockLevel, StockMovement, Store
from store_server.db.savepoint import tell
from store_server.usecases.clock import now_iso
from store_server.usecases.rows import execute, fetch_all, fetch_in, insert_rows

DEFAULT_LOCATION = "main"
ON_HAND = Bucket.ON_HAND
RESERVED = Bucket.RESERVED
SUPPLIER = Bucket.SUPPLIER
CUSTOMER = Bucket.CUSTOMER
ADJUSTMENT = Bucket.ADJUSTMENT
APPLIED = "applied"
# The hot path's statements (rows.py): plain SQL, the same on SQLite and PostgreSQL.
SET_LEVEL = "UPDATE stock_levels SET on_hand = :on_hand, reserved = :reserved WHERE sku = :sku AND location = :location"
_GRANT = (
    "UPDATE stock_levels SET reserved = reserved + :quantity WHERE sku = :sku AND location = :location"
    " AND on_hand - reserved - safety_stock >= :quantity"
)
_READ_LEVEL = "SELECT on_hand, reserved, safety_stock FROM stock_levels WHERE sku = :sku AND location = :location"
READ_LEVELS = (
    "SELECT sku, on_hand, reserved, safety_stock FROM stock_levels WHERE location = :location AND sku IN (:values)"
)
UNITS = "SELECT sku, sold_by FROM products WHERE sku IN (:values)"
_COUNTS_AFTER = (
    "SELECT sku, location, counted_at, id, document_id FROM stock_counts"
    " WHERE status = :status AND counted_at > :occurred_at ORDER BY counted_at DESC"
)


@dataclass(frozen=True, slots=True)
class Move:
    """What to move; ``quantity`` is always positive, the buckets give the direction."""

    sku: str
    quantity: int
    from_bucket: str
    to_bucket: str
    reason: str
    document_type: str
    document_id: str
    idempotency_key: str
    location: str = DEFAULT_LOCATION
    actor: str = "system"
    occurred_at: str | None = None
    """When it happened, if not now (a sale's time at the till), as ``pos_core.inventory.iso``."""
    absorbed_by_count: str | None = None


class LevelLike(Protocol):
    """A level's figures: an ORM ``StockLevel`` or plain ``Figures`` read with one query."""

    sku: str
    location: str
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int: ...


@dataclass(slots=True)
class Figures:
    """A level row read with plain SQL (``levels_for``), kept true as movements change it."""

    sku: str
    location: str
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock


def record_movement(session: Session, move: Move, level: LevelLike | None = None) -> tuple[Recorded, LevelLike]:
    """Write the movement and update the level in the current transaction.

    Never refuses for lack of stock: on hand may go negative (goods in a customer's
    hand are sold).

    Args:
        level: the level of the move's SKU and location, when the caller has it (``levels_for``).
    """
    if level is None:
        level = level_row(session, move.sku, move.location)
    on_hand, reserved = moved_level(move, level)
    movement = _add_movement(session, move)
    params = {"on_hand": on_hand, "reserved": reserved, "sku": move.sku, "location": move.location}
    execute(session, SET_LEVEL, params).close()
    assign(level, on_hand, reserved)
    return movement, level


def grant_movement(session: Session, move: Move, level: LevelLike | None = None) -> tuple[Recorded, LevelLike] | None:
    """Move ``quantity`` from on hand to reserved only if that much is available.

    The check and the change are one conditional UPDATE, so no two grants can both take
    the same units, whatever the isolation level.

    Args:
        level: the level of the move's SKU and location, when the caller has it (``levels_for``).

    Returns:
        The movement and level, or None (nothing written) when not enough is available.
    """
    params = {"sku": move.sku, "location": move.location, "quantity": move.quantity}
    cursor = execute(session, _GRANT, params)
    granted = cursor.rowcount == 1
    cursor.close()
    if not granted:
        return None
    [(on_hand, reserved, safety)] = fetch_all(session, _READ_LEVEL, {"sku": move.sku, "location": move.location})
    if level is None:
        level = _mapped(session, move.sku, move.location) or Figures(move.sku, move.location, 0, 0, safety)
    assign(level, on_hand, reserved)
    return _add_movement(session, move), level


def available_now(session: Session, sku: str, location: str) -> int:
    """What is available of ``sku`` at ``location`` as its row holds it now, whatever an ORM
    object of it says (0, never less, without a row)."""
    rows = fetch_all(session, _READ_LEVEL, {"sku": sku, "location": location})
    return max(0, rows[0][0] - rows[0][1] - rows[0][2]) if rows else 0


def levels_for(session: Session, skus: Iterable[str], location: str) -> dict[str, LevelLike]:
    """The existing levels of ``skus`` at ``location``, by SKU.

    A level the session already holds as an ORM object is that object (so whoever holds it
    sees the changes); the others are read with one plain query.
    """
    found: dict[str, LevelLike] = {}
    wanted = []
    for sku in sorted(set(skus)):
        mapped = _mapped(session, sku, location)
        if mapped is not None:
            found[sku] = mapped
        else:
            wanted.append(sku)
    for sku, on_hand, reserved, safety in fetch_in(session, READ_LEVELS, wanted, {"location": location}):
        found[sku] = Figures(sku, location, on_hand, reserved, safety)
    return found


def _mapped(session: Session, sku: str, location: str) -> StockLevel | None:
    level = session.identity_map.get((_level_identity(), (sku, location), None))
    return level if isinstance(level, StockLevel) else None


@cache
def _level_identity() -> Any:
    """The class in ``StockLevel``'s identity keys: ``identity_key`` looks its mapper up on every
    call, which cost more than the look-up itself for each SKU of a batch of sales."""
    return identity_key(StockLevel, ("", ""))[0]


def assign(level: LevelLike, on_hand: int, reserved: int) -> None:
    """Tell the level its new figures; the row is already written (or is in a write batch), so
    an ORM object must not be flushed again."""
    if isinstance(level, StockLevel):
        tell(level, on_hand=on_hand, reserved=reserved)
    else:
        level.on_hand, level.reserved = on_hand, reserved


@dataclass(frozen=True, slots=True)
class Recorded:
    """A movement as written to the ledger (the row of ``StockMovement``)."""

    id: str
    sku: str
    location: str
    quantity: int
    from_bucket: str
    to_bucket: str
    reason: str
    document_type: str
    document_id: str
    idempotency_key: str
    created_at: str
    occurred_at: str
    actor: str
    absorbed_by_count: str | None


def _add_movement(session: Session, move: Move) -> Recorded:
    movement = recorded_movement(move, now_iso())
    insert_rows(session, StockMovement, [movement_row(movement)])
    return movement


def recorded_movement(move: Move, recorded: str) -> Recorded:
    """The ledger row ``move`` makes, recorded at ``recorded``, with a new id."""
    return Recorded(
        new_id(),
        move.sku,
        move.location,
        move.quantity,
        move.from_bucket,
        move.to_bucket,
        move.reason,
        move.document_type,
        move.document_id,
        move.idempotency_key,
        recorded,
        move.occurred_at or recorded,
        move.actor,
        move.absorbed_by_count,
    )


def movement_row(movement: Recorded) -> dict[str, Any]:
    """The ``StockMovement`` row of ``movement``: every column name -> value."""
    return {name: getattr(movement, name) for name in Recorded.__slots__}


def moved_level(move: Move, level: LevelLike) -> tuple[int, int]:
    """``level``'s on hand and reserved after ``move``."""
    change = effect(move.from_bucket, move.to_bucket, move.quantity)
    return level.on_hand + change.on_hand, level.reserved + change.reserved


def level_row(session: Session, sku: str, location: str) -> StockLevel:
    """The level of ``sku`` at ``location``, made (empty, with its safety stock) if missing."""
    with session.no_autoflush:  # pending changes never create or drop a level row unseen (see below)
        level = session.get(StockLevel, (sku, location))
    if level is None:
        level = StockLevel(
            sku=sku, location=location, on_hand=0, reserved=0, safety_stock=effective_safety_stock(session, sku)
        )
        session.add(level)
        session.flush()  # into the identity map, so the next look-up finds it without a query
    return level


def units_sold_by(session: Session, skus: Iterable[str]) -> dict[str, str]:
    """``each`` or ``weight`` for each of ``skus`` the catalogue has (one plain query)."""
    return dict(fetch_in(session, UNITS, sorted(set(skus))))


def effective_safety_stock(session: Session, sku: str) -> int:
    """The product's own safety stock, else its category's, else the store's default."""
    row = session.execute(
        select(ProductRow.safety_stock, Category.safety_stock)
        .outerjoin(Category, ProductRow.category == Category.name)
        .where(ProductRow.sku == sku)
    ).one_or_none()
    store = session.scalar(select(Store.safety_stock)) or 0
    return resolve_safety_stock(row[0] if row else None, row[1] if row else None, store)


def counts_after(session: Session, occurred_at: str) -> dict[tuple[str, str], tuple[str, str]]:
    """The earliest applied count after ``occurred_at`` per SKU and location: ``(id, document id)``.

    One query for a whole sale; usually empty (no count since the sale was made).
    """
    return earliest_counts(counts_since(session, occurred_at), occurred_at)


CountRow = tuple[str, str, str, str, str]
"""An applied count: SKU, location, ``counted_at``, id, document id."""


def counts_since(session: Session, occurred_at: str) -> list[CountRow]:
    """The applied counts made after ``occurred_at``, newest first (one query for many sales:
    ask for the earliest sale's time and pick each sale's with ``earliest_counts``)."""
    return [tuple(row) for row in fetch_all(session, _COUNTS_AFTER, {"status": APPLIED, "occurred_at": occurred_at})]


def earliest_counts(rows: Iterable[CountRow], occurred_at: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Of ``rows`` (newest first), the earliest count after ``occurred_at`` per SKU and location."""
    return {
        (sku, location): (count_id, document_id)
        for sku, location, counted_at, count_id, document_id in rows
        if counted_at > occurred_at
    }


def level_wire(level: LevelLike) -> dict[str, Any]:
    """A level's absolute figures, as events and replies carry them."""
    return {
        "sku": level.sku,
        "location": level.location,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "safety_stock": level.safety_stock,
        "available": level.available,
    }


def stock_changed(movement: Recorded | None, level: LevelLike) -> dict[str, Any]:
    """The ``stock.changed`` event data: absolute figures after the change, and the movement
    (None when only the safety stock changed)."""
    moved = None
    if movement is not None:
        moved = {
            "id": movement.id,
            "quantity": movement.quantity,
            "from_bucket": movement.from_bucket,
            "to_bucket": movement.to_bucket,
            "reason": movement.reason,
            "document_type": movement.document_type,
            "document_id": movement.document_id,
            "actor": movement.actor,
            "occurred_at": movement.occurred_at,
            "absorbed_by_count": movement.absorbed_by_count,
        }
    return {**level_wire(level), "movement": moved}


def availability(session: Session, skus: Iterable[str], location: str = DEFAULT_LOCATION) -> list[dict[str, Any]]:
    """The absolute figures of each SKU at ``location``, in SKU order (a batch availability query).

    A SKU never stocked there reads as zero, with its safety stock. Unknown SKUs are left out;
    check them first (``checks.known_skus``) to refuse them.
    """
    wanted = sorted(set(skus))
    rows = {
        lv.sku: lv
        for lv in session.scalars(select(StockLevel).where(StockLevel.sku.in_(wanted), StockLevel.location == location))
    }
    known = set(session.scalars(select(ProductRow.sku).where(ProductRow.sku.in_(wanted))))
    figures = []
    for sku in wanted:
        if sku in known:
            level = rows.get(sku) or StockLevel(
                sku=sku, location=location, on_hand=0, reserved=0, safety_stock=effective_safety_stock(session, sku)
            )
            figures.append(level_wire(level))
    return figures


def ledger_level(session: Session, sku: str, location: str = DEFAULT_LOCATION) -> Level:
    """On hand and reserved as the sums of the movements (safety stock as the level row says)."""
    sums = session.execute(
        select(StockMovement.from_bucket, StockMovement.to_bucket, func.sum(StockMovement.quantity))
        .where(StockMovement.sku == sku, StockMovement.location == location)
        .group_by(StockMovement.from_bucket, StockMovement.to_bucket)
    ).all()
    on_hand = reserved = 0
    for from_bucket, to_bucket, quantity in sums:
        change = effect(from_bucket, to_bucket, int(quantity))
        on_hand += change.on_hand
        reserved += change.reserved
    level = session.get(StockLevel, (sku, location))
    return Level(on_hand, reserved, level.safety_stock if level else 0)


def ledger_on_hand(session: Session, sku: str, location: str = DEFAULT_LOCATION) -> int:
    """On hand as the sum of movements into the shelf's buckets minus movements out of them."""
    return ledger_level(session, sku, location).on_hand
