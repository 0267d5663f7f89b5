"""The stock ledger: every change is a movement, and the level row moves with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_server.db.models import StockLevel, StockMovement
from store_server.usecases.clock import now_iso

DEFAULT_LOCATION = "main"
ON_HAND = "on_hand"
SUPPLIER = "supplier"
CUSTOMER = "customer"
ADJUSTMENT = "adjustment"


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


def record_movement(session: Session, move: Move) -> tuple[StockMovement, StockLevel]:
    """Write the movement and update the level in the current transaction.

    Never refuses for lack of stock: on hand may go negative (goods in a customer's
    hand are sold).
    """
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
        created_at=now_iso(),
    )
    session.add(movement)
    level = session.get(StockLevel, (move.sku, move.location))
    if level is None:
        level = StockLevel(sku=move.sku, location=move.location, on_hand=0, reserved=0, safety_stock=0)
        session.add(level)
    if move.to_bucket == ON_HAND:
        level.on_hand += move.quantity
    if move.from_bucket == ON_HAND:
        level.on_hand -= move.quantity
    return movement, level


def stock_changed(movement: StockMovement, level: StockLevel) -> dict[str, Any]:
    """The ``stock.changed`` event data: absolute figures after the change, and the movement."""
    return {
        "sku": level.sku,
        "location": level.location,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "safety_stock": level.safety_stock,
        "available": level.available,
        "movement": {
            "id": movement.id,
            "quantity": movement.quantity,
            "from_bucket": movement.from_bucket,
            "to_bucket": movement.to_bucket,
            "reason": movement.reason,
            "document_type": movement.document_type,
            "document_id": movement.document_id,
        },
    }


def ledger_on_hand(session: Session, sku: str, location: str = DEFAULT_LOCATION) -> int:
    """On hand as the sum of movements into it minus movements out of it."""
    into = session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.sku == sku, StockMovement.location == location, StockMovement.to_bucket == ON_HAND
        )
    )
    out = session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.sku == sku, StockMovement.location == location, StockMovement.from_bucket == ON_HAND
        )
    )
    return int(into or 0) - int(out or 0)
