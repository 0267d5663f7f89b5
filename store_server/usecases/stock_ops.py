"""Receiving, returns to stock and write-offs: one movement per SKU (a write-off no more than
the books have on hand).

Each is a command with a client-made ``request_id`` (repeats return the first result) and
an ``actor``; each movement emits ``stock.changed`` with the new absolute level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy.orm import Session

from pos_core.errors import InvalidTimestamp
from pos_core.inventory import Reason, StockLine, check_return_time, demand_by_sku
from store_server.db.models import FeedState
from store_server.errors import BadRequest, QuantityRefused, TimestampRefused
from store_server.usecases import checks
from store_server.usecases.clock import utc_now
from store_server.usecases.posting import Posting
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.stock import DEFAULT_LOCATION, level_wire

WRITE_OFF_REASONS = (Reason.DAMAGE, Reason.SHRINK)


@dataclass(frozen=True, slots=True)
class Receive:
    """Goods arrived from a supplier, against a purchase order or ad hoc."""

    request_id: str
    actor: str
    lines: tuple[StockLine, ...]
    location: str = DEFAULT_LOCATION
    purchase_order: str | None = None
    """The purchase order's number; None for an ad hoc delivery (the request id is the document)."""


@dataclass(frozen=True, slots=True)
class ReturnToStock:
    """Goods a customer brought back, fit to sell again."""

    request_id: str
    actor: str
    lines: tuple[StockLine, ...]
    location: str = DEFAULT_LOCATION
    order_id: str | None = None
    """The sale or order they came from, if known."""
    occurred_at: str | None = None
    """When the till took them back, if it syncs late; a count in between absorbs them."""


@dataclass(frozen=True, slots=True)
class WriteOff:
    """Goods damaged (``damage``) or gone missing (``shrink``)."""

    request_id: str
    actor: str
    lines: tuple[StockLine, ...]
    reason: str = Reason.DAMAGE
    location: str = DEFAULT_LOCATION


@dataclass(frozen=True, slots=True)
class StockResult:
    """What a stock command did: its document, the new levels, and exceptions it raised."""

    document_type: str
    document_id: str
    levels: tuple[dict[str, Any], ...]
    exceptions: tuple[str, ...] = ()
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "document_type": self.document_type,
            "document_id": self.document_id,
            "levels": list(self.levels),
            "exceptions": list(self.exceptions),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(data["document_type"], data["document_id"], tuple(data["levels"]), tuple(data["exceptions"]))


def receive(session: Session, cmd: Receive) -> StockResult:
    """Book goods in: supplier -> on hand, per SKU.

    Raises:
        QuantityRefused, UnknownSku, UnknownLocation, BadRequest: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    if cmd.purchase_order is not None:
        checks.text(cmd.purchase_order, "purchase order number")
    document = ("purchase_order", cmd.purchase_order) if cmd.purchase_order else ("receipt", cmd.request_id)
    return _post(session, cmd, "stock.receive", reason=Reason.RECEIVE, document=document, occurred_at=None)


def return_to_stock(session: Session, cmd: ReturnToStock, now: datetime | None = None) -> StockResult:
    """Put returned goods back on the shelf: customer -> on hand, per SKU.

    Raises:
        QuantityRefused, UnknownSku, UnknownLocation, BadRequest, TimestampRefused: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    if cmd.order_id is not None:
        checks.document_id(cmd.order_id, "order id")
    document = ("order", cmd.order_id) if cmd.order_id else ("return", cmd.request_id)
    return _post(
        session, cmd, "stock.return", reason=Reason.RETURN, document=document, occurred_at=cmd.occurred_at, now=now
    )


def write_off(session: Session, cmd: WriteOff) -> StockResult:
    """Take damaged or missing goods off the books: on hand -> written off, per SKU.

    If it uncovers reserved stock, an exception is raised and ``reservation.at_risk`` emitted.

    Raises:
        BadRequest: the reason is not ``damage`` or ``shrink``.
        QuantityRefused: a SKU's quantity is out of range, or more than the books say is on
            hand; nothing is written.
        UnknownSku, UnknownLocation: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    if cmd.reason not in WRITE_OFF_REASONS:
        raise BadRequest(f"A write-off's reason must be damage or shrink, not {cmd.reason!r}.")
    return _post(
        session,
        cmd,
        "stock.write_off",
        reason=Reason(cmd.reason),
        document=("write_off", cmd.request_id),
        occurred_at=None,
    )


def _post(
    session: Session,
    cmd: Receive | ReturnToStock | WriteOff,
    kind: str,
    *,
    reason: Reason,
    document: tuple[str, str | None],
    occurred_at: str | None,
    now: datetime | None = None,
) -> StockResult:
    checks.document_id(cmd.request_id, "request id")
    lines = checks.lines(cmd.lines, kind.removeprefix("stock.").replace("_", "-"))
    checks.known_location(session, cmd.location)
    checks.known_skus(session, (line.sku for line in lines))
    document_type, document_id = document[0], document[1] or cmd.request_id

    def run(state: FeedState) -> StockResult:
        # The time is checked after the replay lookup: a retry of a return accepted days ago
        # gets its first answer, not a refusal of a time that was fine when it was sent.
        at = None if occurred_at is None else _returned_at(occurred_at, now or utc_now())
        posting = Posting(
            session,
            state,
            document_type=document_type,
            document_id=document_id,
            key=f"{kind}:{cmd.request_id}",
            actor=cmd.actor,
            occurred_at=at,
        )
        demand = demand_by_sku(lines)
        if reason in (Reason.DAMAGE, Reason.SHRINK):
            within_on_hand(posting, demand, cmd.location)
        for sku, quantity in demand.items():
            posting.move(sku, quantity, reason, location=cmd.location)
        exceptions = posting.close()
        return StockResult(
            document_type, document_id, tuple(level_wire(lv) for lv in posting.levels), tuple(exceptions)
        )

    return run_once(session, command_request(kind, cmd), StockResult, run)


def within_on_hand(posting: Posting, demand: dict[str, int], location: str) -> None:
    """Refuse taking more of any SKU off the shelf than the books say is on hand at ``location``
    (a write-off, a transfer out): a slip of the finger (``=100000``) would otherwise send the
    level far below zero. A sale never comes here: goods in a customer's hand are never refused.

    Raises:
        QuantityRefused: the first SKU short, with what the books say; nothing is written.
    """
    posting.prefetch(demand, location)
    for sku, quantity in demand.items():
        level = posting.seen(sku, location)
        on_hand = 0 if level is None else level.on_hand
        if quantity > on_hand:
            raise QuantityRefused(
                f"The books say {max(on_hand, 0)} of {sku} on hand at {location}, fewer than {quantity};"
                " nothing was written. If more are on the shelf, count them first: a count sets the books."
            )


def _returned_at(occurred_at: str, now: datetime) -> str:
    try:
        return check_return_time(occurred_at, now)
    except InvalidTimestamp as exc:
        raise TimestampRefused(str(exc)) from None
