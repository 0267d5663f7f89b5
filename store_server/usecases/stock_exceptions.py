"""Inventory exceptions: what a manager must look at because the store chose not to refuse.

A cashier's sale is never refused. When one (or a count, a write-off, a transfer) leaves
reserved stock physically uncovered, the exception is recorded and ``reservation.at_risk``
is emitted in the same transaction, naming the reservations and orders at risk, so the
storefront can act at once (tell the customer, release, or wait for a delivery).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.ids import new_id
from pos_core.inventory import Level
from store_server.db.models import FeedState, InventoryException, Reservation, ReservationLine
from store_server.errors import UnknownException
from store_server.usecases.clock import now_iso
from store_server.usecases.feed import append_event
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.stock import LevelLike

log = logging.getLogger(__name__)

RESERVED_UNCOVERED = "reserved_uncovered"
OPEN = "open"
RESOLVED = "resolved"
PENDING = "pending"


def reservations_holding(session: Session, sku: str, location: str) -> list[dict[str, Any]]:
    """Pending reservations of ``sku`` at ``location``, newest first, with their orders."""
    rows = session.execute(
        select(Reservation.id, Reservation.order_id, ReservationLine.quantity)
        .join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .where(ReservationLine.sku == sku, Reservation.location == location, Reservation.status == PENDING)
        .order_by(Reservation.created_at.desc(), Reservation.id)
    ).all()
    return [{"reservation_id": r, "order_id": o, "quantity": q} for r, o, q in rows]


def flag_uncovered(
    session: Session, state: FeedState, level: LevelLike, *, document_type: str, document_id: str, actor: str
) -> str:
    """Record that ``level`` holds more reserved than on hand, and emit ``reservation.at_risk``.

    Returns:
        The new exception's id.
    """
    at_risk = reservations_holding(session, level.sku, level.location)
    row = InventoryException(
        id=new_id(),
        kind=RESERVED_UNCOVERED,
        sku=level.sku,
        location=level.location,
        on_hand=level.on_hand,
        reserved=level.reserved,
        shortfall=Level(level.on_hand, level.reserved, level.safety_stock).shortfall,
        document_type=document_type,
        document_id=document_id,
        details=json.dumps({"reservations": at_risk}),
        status=OPEN,
        actor=actor,
        created_at=now_iso(),
    )
    session.add(row)
    append_event(session, state, "reservation.at_risk", {**exception_wire(row), "reservations": at_risk})
    log.warning(
        "reserved stock uncovered sku=%s location=%s on_hand=%s reserved=%s by=%s:%s exception=%s",
        row.sku,
        row.location,
        row.on_hand,
        row.reserved,
        document_type,
        document_id,
        row.id,
    )
    return row.id


def exception_wire(row: InventoryException) -> dict[str, Any]:
    return {
        "exception_id": row.id,
        "kind": row.kind,
        "status": row.status,
        "sku": row.sku,
        "location": row.location,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "shortfall": row.shortfall,
        "document_type": row.document_type,
        "document_id": row.document_id,
    }


@dataclass(frozen=True, slots=True)
class ResolveException:
    request_id: str
    actor: str
    exception_id: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ExceptionResolved:
    exception_id: str
    status: str
    resolved_by: str | None = None
    resolved_at: str | None = None
    note: str | None = None
    """The resolution's, which a later resolve of the same exception does not replace."""
    already: bool = False
    """It was resolved before this request (by ``resolved_by``): nothing changed."""
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "exception_id": self.exception_id,
            "status": self.status,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at,
            "note": self.note,
            "already": self.already,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(
            data["exception_id"],
            data["status"],
            data.get("resolved_by"),
            data.get("resolved_at"),
            data.get("note"),
            data.get("already", False),
        )


def resolve_exception(session: Session, cmd: ResolveException) -> ExceptionResolved:
    """Mark an exception resolved by a manager; emits ``inventory_exception.resolved``.

    Resolving an exception already resolved changes nothing and says so (``already``, with
    who resolved it, when and their note).

    Raises:
        UnknownException: no exception with that id.
        IdempotencyConflict: the request id was used for other content.
    """

    def run(state: FeedState) -> ExceptionResolved:
        row = session.get(InventoryException, cmd.exception_id)
        if row is None:
            raise UnknownException(f"There is no inventory exception {cmd.exception_id}; refresh the list.")
        already = row.status != OPEN
        if not already:
            row.status = RESOLVED
            row.resolved_at = now_iso()
            row.resolved_by = cmd.actor
            row.note = cmd.note or None
            append_event(session, state, "inventory_exception.resolved", {**exception_wire(row), "note": cmd.note})
        return ExceptionResolved(row.id, row.status, row.resolved_by, row.resolved_at, row.note, already)

    return run_once(session, command_request("exception.resolve", cmd), ExceptionResolved, run)


def open_exceptions(session: Session, sku: str | None = None, location: str | None = None) -> list[dict[str, Any]]:
    """Open exceptions, oldest first, optionally for one SKU and location."""
    query = select(InventoryException).where(InventoryException.status == OPEN)
    if sku is not None:
        query = query.where(InventoryException.sku == sku)
    if location is not None:
        query = query.where(InventoryException.location == location)
    rows = session.scalars(query.order_by(InventoryException.created_at, InventoryException.id))
    return [{**exception_wire(r), **json.loads(r.details)} for r in rows]
