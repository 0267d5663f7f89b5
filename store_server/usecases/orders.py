"""Online orders (ship from store, pick up in store) in one model with in-store sales.

Placing an order holds what it can, per SKU summed over its lines, and says per line what
is held and what is short; it is ``reserved`` once every line is held. An update holds
more, or gives back what is no longer wanted. Picking stops the hold from expiring;
collecting or shipping commits it (the goods leave); cancelling releases it. An order's id
is its place request's id; every step is a request of its own.

Each step (``cancel_order``, ``start_picking``, ``mark_ready``, ``collect_pickup``,
``ship_order``) raises ``UnknownOrder`` for an unknown order, ``IllegalOrderTransition`` when
the order's status or channel does not allow it, and ``IdempotencyConflict`` for a reused
request id; then nothing is written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pos_core.errors import IllegalTransition
from pos_core.ids import new_id
from pos_core.inventory import Reason, StockLine, allocate, demand_by_sku, expiry
from pos_core.json_text import parse
from pos_core.orders import ONLINE, Channel, OrderAction, OrderStatus, held_status, next_status
from store_server.db.models import FeedState, OrderLineRow, OrderRow, Reservation, SaleLineRow
from store_server.errors import BadRequest, IllegalOrderTransition, UnknownOrder
from store_server.usecases import checks
from store_server.usecases.clock import now_iso, utc_now
from store_server.usecases.feed import append_event
from store_server.usecases.requests import command_request, run_once, stored_requests
from store_server.usecases.reservations import (
    COMMITTED,
    MAX_TTL_S,
    PENDING,
    RELEASED,
    announce,
    close_reservation,
    grant_up_to,
    held,
    holding_posting,
    open_reservation,
    set_held,
)
from store_server.usecases.stock import DEFAULT_LOCATION

DEFAULT_HOLD_S = 3 * 24 * 3600


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    request_id: str
    """Also the order's id."""
    actor: str
    channel: str
    """``ship_from_store`` or ``pickup``."""
    lines: tuple[StockLine, ...]
    location: str = DEFAULT_LOCATION
    hold_s: int = DEFAULT_HOLD_S
    """How long its stock is held (from the last change) until picking starts."""
    reference: str | None = None
    customer_name: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateOrder:
    """Replace an order's lines (while it is placed or reserved)."""

    request_id: str
    actor: str
    order_id: str
    lines: tuple[StockLine, ...]


@dataclass(frozen=True, slots=True)
class OrderStep:
    """Cancel, start picking, mark ready, collect or ship an order."""

    request_id: str
    actor: str
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_no: int
    sku: str
    quantity: int
    reserved: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_id: str
    channel: str
    status: str
    location: str
    lines: tuple[OrderLine, ...]
    reservation_id: str | None = None
    expires_at: str | None = None
    reference: str | None = None
    customer_name: str | None = None
    duplicate: bool = False

    @property
    def short(self) -> dict[int, int]:
        """Line number -> units not held, for an order still waiting for stock."""
        if self.status != OrderStatus.PLACED:
            return {}
        return {ln.line_no: ln.quantity - ln.reserved for ln in self.lines if ln.quantity > ln.reserved}

    def to_wire(self) -> dict[str, Any]:
        short = self.short
        return {
            "order_id": self.order_id,
            "channel": self.channel,
            "status": self.status,
            "location": self.location,
            "reservation_id": self.reservation_id,
            "expires_at": self.expires_at,
            "reference": self.reference,
            "customer_name": self.customer_name,
            "lines": [
                {
                    "line_no": ln.line_no,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "reserved": ln.reserved,
                    "short": short.get(ln.line_no, 0),
                }
                for ln in self.lines
            ],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(
            data["order_id"],
            data["channel"],
            data["status"],
            data["location"],
            tuple(OrderLine(ln["line_no"], ln["sku"], ln["quantity"], ln["reserved"]) for ln in data["lines"]),
            data["reservation_id"],
            data["expires_at"],
            data["reference"],
            data["customer_name"],
        )


def place_order(session: Session, cmd: PlaceOrder, now: datetime | None = None) -> OrderResult:
    """Accept an online order and hold what can be held; emits ``order.placed``.

    Never refused for lack of stock: the result's lines say what is held and what is short.

    Raises:
        BadRequest: not an online channel, an id or hold time out of range.
        QuantityRefused, UnknownSku, UnknownLocation: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "order id")
    if cmd.channel not in ONLINE:
        raise BadRequest(
            f"An order's channel must be one of {', '.join(sorted(ONLINE))}; in-store sales come from tills."
        )
    lines = checks.lines(cmd.lines, "order")
    checks.seconds(cmd.hold_s, "order's hold_s", 60, MAX_TTL_S)
    for text, what in ((cmd.reference, "order reference"), (cmd.customer_name, "customer name")):
        if text is not None:
            checks.text(text, what)
    checks.known_location(session, cmd.location)
    checks.known_skus(session, (line.sku for line in lines))

    def run(state: FeedState) -> OrderResult:
        stamp = now_iso()
        order = OrderRow(
            id=cmd.request_id,
            channel=cmd.channel,
            status=OrderStatus.PLACED,
            location=cmd.location,
            source=cmd.actor,
            reference=cmd.reference,
            customer_name=cmd.customer_name,
            hold_s=cmd.hold_s,
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(order)
        session.flush()
        return _hold(session, state, order, lines, now=now, request=cmd)

    return run_once(session, command_request("order.place", cmd), OrderResult, run)


def update_order(session: Session, cmd: UpdateOrder, now: datetime | None = None) -> OrderResult:
    """Replace the lines of a placed or reserved order, holding more or giving back; emits
    ``order.updated``. Sending the same lines again retries what is still short.

    Raises:
        UnknownOrder: no such order.
        IllegalOrderTransition: it is being picked, done or cancelled.
        QuantityRefused, UnknownSku: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "request id")
    lines = checks.lines(cmd.lines, "order")
    checks.known_skus(session, (line.sku for line in lines))

    def run(state: FeedState) -> OrderResult:
        order = _order(session, cmd.order_id)
        _step(order, OrderAction.UPDATE)
        return _hold(session, state, order, lines, now=now, request=cmd)

    return run_once(session, command_request("order.update", cmd), OrderResult, run)


def cancel_order(session: Session, cmd: OrderStep) -> OrderResult:
    """Cancel an order that has not left; releases its hold; emits ``order.cancelled``."""
    return _advance(session, cmd, OrderAction.CANCEL, RELEASED)


def start_picking(session: Session, cmd: OrderStep) -> OrderResult:
    """A reserved order is being picked: its hold no longer expires; emits ``order.picking``."""
    return _advance(session, cmd, OrderAction.START_PICKING, None)


def mark_ready(session: Session, cmd: OrderStep) -> OrderResult:
    """Picked and packed; emits ``order.ready``."""
    return _advance(session, cmd, OrderAction.MARK_READY, None)


def collect_pickup(session: Session, cmd: OrderStep) -> OrderResult:
    """The customer collected a ready pickup order: commits its hold; emits ``order.picked_up``."""
    return _advance(session, cmd, OrderAction.COLLECT, COMMITTED)


def ship_order(session: Session, cmd: OrderStep) -> OrderResult:
    """A ready ship-from-store order left: commits its hold; emits ``order.shipped``."""
    return _advance(session, cmd, OrderAction.SHIP, COMMITTED)


def get_order(session: Session, order_id: str) -> OrderResult:
    """An order of any channel as it is now; an in-store order's lines are its sale's.

    Raises:
        UnknownOrder: no such order.
    """
    return _result(session, _order(session, order_id))


MAX_LISTED = 1000


def list_orders(session: Session, statuses: Collection[str], limit: int = MAX_LISTED) -> list[OrderResult]:
    """Online orders in any of ``statuses``, oldest first, at most ``limit`` (the back office's list).

    In-store orders (till sales) are never listed: they are done when they are made.
    """
    rows = session.scalars(
        select(OrderRow)
        .where(OrderRow.channel.in_(sorted(ONLINE)), OrderRow.status.in_(sorted(statuses)))
        .order_by(OrderRow.created_at, OrderRow.id)
        .limit(limit)
    )
    return [_result(session, order) for order in rows]


def find_order_id(session: Session, id_or_reference: str, request_id: str | None = None) -> str:
    """The id of the order with this id, else of the one online order with this storefront reference.

    Staff read the storefront's order number (``WEB-1001``) off a packing slip more often than a UUID.
    With ``request_id``, a request made before for an order with this id or reference names
    that order: a retry reaches its first answer even if another order has taken the reference since.

    Raises:
        UnknownOrder: neither, or a reference that more than one order carries.
    """
    if session.get(OrderRow, id_or_reference) is not None:
        return id_or_reference
    first = _first_order_answer(session, request_id) if request_id is not None else None
    if first is not None and first.get("reference") == id_or_reference:
        order_id: str = first["order_id"]
        return order_id
    found = list(
        session.scalars(
            select(OrderRow.id).where(OrderRow.reference == id_or_reference, OrderRow.channel.in_(sorted(ONLINE)))
        )
    )
    if len(found) == 1:
        return found[0]
    if found:
        raise UnknownOrder(
            f"{len(found)} orders carry the reference {id_or_reference}; give the order id instead"
            f" ({', '.join(sorted(found))})."
        )
    raise UnknownOrder(f"There is no order {id_or_reference}; check the order id or the storefront's reference.")


def _first_order_answer(session: Session, request_id: str) -> dict[str, Any] | None:
    """The stored answer of an order request made with ``request_id``, or None."""
    stored = stored_requests(session, [request_id]).get(request_id)
    if stored is None or not stored[0].startswith("order."):
        return None
    answer: dict[str, Any] = parse(stored[2])
    return answer


def hold_expired(session: Session, state: FeedState, order_id: str) -> None:
    """An order's hold expired: nothing is held now, so it waits as placed; emits ``order.updated``."""
    order = session.get_one(OrderRow, order_id)
    for line in _lines(session, order.id):
        line.reserved = 0
    if order.status == OrderStatus.RESERVED:
        order.status = OrderStatus.PLACED
    order.updated_at = now_iso()
    _publish(session, state, order, "order.updated")


def _advance(session: Session, cmd: OrderStep, action: OrderAction, closing: str | None) -> OrderResult:
    """Take ``action``, closing the order's pending hold as ``closing`` (None: keep it)."""
    checks.document_id(cmd.request_id, "request id")

    def run(state: FeedState) -> OrderResult:
        order = _order(session, cmd.order_id)
        status = _step(order, action)
        reservation = _pending(session, order.id)
        if reservation is not None and closing is not None:
            close_reservation(
                session, state, reservation, closing, actor=cmd.actor, key=f"order.{action}:{cmd.request_id}"
            )
        if reservation is not None and action == OrderAction.START_PICKING:
            reservation.expires_at = None
        if action == OrderAction.CANCEL:
            for line in _lines(session, order.id):
                line.reserved = 0
        order.status = status
        order.updated_at = now_iso()
        return _publish(session, state, order, f"order.{status}")

    return run_once(session, command_request(f"order.{action}", cmd), OrderResult, run)


def _hold(
    session: Session,
    state: FeedState,
    order: OrderRow,
    lines: tuple[StockLine, ...],
    *,
    now: datetime | None,
    request: PlaceOrder | UpdateOrder,
) -> OrderResult:
    """Make the order's hold match ``lines`` as far as stock allows, and its lines say so."""
    placing = isinstance(request, PlaceOrder)
    key = f"{'order.place' if placing else 'order.update'}:{request.request_id}"
    actor = request.actor
    reservation = _pending(session, order.id)
    current = held(session, reservation) if reservation is not None else {}
    demand = demand_by_sku(lines)
    posting = holding_posting(session, state, reservation_id=None, order_id=order.id, key=key, actor=actor)
    holding: dict[str, int] = {}
    for sku in sorted(set(current) | set(demand)):
        have, want = current.get(sku, 0), demand.get(sku, 0)
        if want < have:
            posting.move(sku, have - want, Reason.RELEASE, location=order.location)
            holding[sku] = want
        else:
            holding[sku] = have + grant_up_to(posting, order.location, sku, want - have)
    changed = _record_hold(
        session, order, reservation=reservation, current=current, holding=holding, now=now, actor=actor
    )
    if changed is not None:
        announce(session, state, changed[1], changed[0], posting)
    else:
        posting.close()
    session.execute(delete(OrderLineRow).where(OrderLineRow.order_id == order.id))
    shares = allocate(lines, holding)
    for no, (line, share) in enumerate(zip(lines, shares, strict=True), 1):
        session.add(OrderLineRow(order_id=order.id, line_no=no, sku=line.sku, quantity=line.quantity, reserved=share))
    session.flush()
    order.status = held_status(all(share == line.quantity for line, share in zip(lines, shares, strict=True)))
    order.updated_at = now_iso()
    return _publish(session, state, order, "order.placed" if placing else "order.updated")


def _record_hold(
    session: Session,
    order: OrderRow,
    *,
    reservation: Reservation | None,
    current: dict[str, int],
    holding: dict[str, int],
    now: datetime | None,
    actor: str,
) -> tuple[str, Reservation] | None:
    """Write the hold's new lines; the reservation event to emit and the reservation, if it changed."""
    kept = {sku: q for sku, q in holding.items() if q > 0}
    if kept == current and reservation is not None:
        reservation.expires_at = expiry(now or utc_now(), order.hold_s)
        return None
    if not kept and reservation is None:
        return None
    kind = "reservation.updated"
    if reservation is None:
        reservation = open_reservation(
            session,
            reservation_id=new_id(),
            order_id=order.id,
            location=order.location,
            expires_at=None,
            actor=actor,
        )
        kind = "reservation.granted"
    reservation.expires_at = expiry(now or utc_now(), order.hold_s)
    for sku in sorted(set(current) | set(holding)):
        set_held(session, reservation, sku, holding.get(sku, 0))
    if not kept:
        reservation.status = RELEASED
        reservation.closed_at = now_iso()
        kind = "reservation.released"
    return kind, reservation


def _order(session: Session, order_id: str) -> OrderRow:
    order = session.get(OrderRow, order_id)
    if order is None:
        raise UnknownOrder(f"There is no order {order_id}; check the order id.")
    return order


def _step(order: OrderRow, action: OrderAction) -> OrderStatus:
    try:
        return next_status(Channel(order.channel), OrderStatus(order.status), action)
    except IllegalTransition as exc:
        said = str(exc)
        raise IllegalOrderTransition(f"Order {order.id}: {said[:1].lower()}{said[1:]}") from None


def _pending(session: Session, order_id: str) -> Reservation | None:
    return session.scalars(
        select(Reservation).where(Reservation.order_id == order_id, Reservation.status == PENDING)
    ).first()


def _lines(session: Session, order_id: str) -> list[OrderLineRow]:
    return list(
        session.scalars(select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.line_no))
    )


def _result(session: Session, order: OrderRow) -> OrderResult:
    if order.channel == Channel.IN_STORE:
        sold = session.scalars(select(SaleLineRow).where(SaleLineRow.sale_id == order.id).order_by(SaleLineRow.line_no))
        lines = tuple(OrderLine(s.line_no, s.sku, s.quantity, 0) for s in sold)
    else:
        lines = tuple(OrderLine(ln.line_no, ln.sku, ln.quantity, ln.reserved) for ln in _lines(session, order.id))
    reservation = _pending(session, order.id)
    return OrderResult(
        order.id,
        order.channel,
        str(order.status),
        order.location,
        lines,
        reservation.id if reservation else None,
        reservation.expires_at if reservation else None,
        order.reference,
        order.customer_name,
    )


def _publish(session: Session, state: FeedState, order: OrderRow, kind: str) -> OrderResult:
    session.flush()
    result = _result(session, order)
    append_event(session, state, kind, result.to_wire())
    return result
