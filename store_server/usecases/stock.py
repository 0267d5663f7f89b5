"""The stock ledger: every change is a movement, and the level row moves with it.

How a movement changes a level is ``pos_core.inventory.effect``: a level's ``on_hand`` is
everything physically at the location (the ``on_hand`` and ``reserved`` buckets), its
``reserved`` the reserved bucket. Reservations are granted only by ``grant_movement``'s
single conditional UPDATE.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from pos_core.inventory import Bucket, Level, effect, resolve_safety_stock
from store_server.db.models import Category, ProductRow, StockCount, StockLevel, StockMovement, Store
from store_server.usecases.clock import now_iso

DEFAULT_LOCATION = "main"
ON_HAND = Bucket.ON_HAND
RESERVED = Bucket.RESERVED
SUPPLIER = Bucket.SUPPLIER
CUSTOMER = Bucket.CUSTOMER
ADJUSTMENT = Bucket.ADJUSTMENT
APPLIED = "applied"


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


def record_movement(session: Session, move: Move) -> tuple[StockMovement, StockLevel]:
    """Write the movement and update the level in the current transaction.

    Never refuses for lack of stock: on hand may go negative (goods in a customer's
    hand are sold).
    """
    level = level_row(session, move.sku, move.location)
    change = effect(move.from_bucket, move.to_bucket, move.quantity)
    level.on_hand += change.on_hand
    level.reserved += change.reserved
    return _add_movement(session, move), level


def grant_movement(session: Session, move: Move) -> tuple[StockMovement, StockLevel] | None:
    """Move ``quantity`` from on hand to reserved only if that much is available.

    The check and the change are one conditional UPDATE, so no two grants can both take
    the same units, whatever the isolation level.

    Returns:
        The movement and level, or None (nothing written) when not enough is available.
    """
    level = session.get(StockLevel, (move.sku, move.location))
    if level is None:
        return None
    session.flush()  # pending changes to the level reach the database before the guarded update
    result = session.execute(
        update(StockLevel)
        .where(
            StockLevel.sku == move.sku,
            StockLevel.location == move.location,
            StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock >= move.quantity,
        )
        .values(reserved=StockLevel.reserved + move.quantity)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    session.refresh(level)
    return _add_movement(session, move), level


def _add_movement(session: Session, move: Move) -> StockMovement:
    recorded = now_iso()
    movement = StockMovement(
        id=str(uuid.uuid4()),
        sku=move.sku,
        location=move.location,
        quantity=move.quantity,
        from_bucket=move.from_bucket,
        to_bucket=move.to_bucket,
        reason=move.reason,
        document_type=move.document_type,
        document_id=move.document_id,
        idempotency_key=move.idempotency_key,
        created_at=recorded,
        occurred_at=move.occurred_at or recorded,
        actor=move.actor,
        absorbed_by_count=move.absorbed_by_count,
    )
    session.add(movement)
    return movement


def level_row(session: Session, sku: str, location: str) -> StockLevel:
    """The level of ``sku`` at ``location``, made (empty, with its safety stock) if missing."""
    level = session.get(StockLevel, (sku, location))
    if level is None:
        level = StockLevel(
            sku=sku, location=location, on_hand=0, reserved=0, safety_stock=effective_safety_stock(session, sku)
        )
        session.add(level)
    return level


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
    with session.no_autoflush:  # counts are written by their own command, never pending here
        rows = session.execute(
            select(StockCount.sku, StockCount.location, StockCount.id, StockCount.document_id)
            .where(StockCount.status == APPLIED, StockCount.counted_at > occurred_at)
            .order_by(StockCount.counted_at.desc())
        ).all()
    return {(sku, location): (count_id, document_id) for sku, location, count_id, document_id in rows}


def level_wire(level: StockLevel) -> dict[str, Any]:
    """A level's absolute figures, as events and replies carry them."""
    return {
        "sku": level.sku,
        "location": level.location,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "safety_stock": level.safety_stock,
        "available": level.available,
    }


def stock_changed(movement: StockMovement | None, level: StockLevel) -> dict[str, Any]:
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
