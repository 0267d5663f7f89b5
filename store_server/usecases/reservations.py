"""Reservations: two-phase holds on stock (DESIGN.md section 3, docs/inventory.md).

A grant moves units on hand -> reserved, and only inside one conditional UPDATE that
re-checks ``on_hand - reserved - safety_stock >= quantity``; demand is summed per SKU
first. A pending reservation is then committed (the goods leave: reserved -> customer),
released or expired (reserved -> on hand). A reservation's id is its reserve request's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from pos_core.inventory import Reason, StockLine, demand_by_sku, expiry, grantable, iso
from store_server.db.loop_reads import Fetch
from store_server.db.models import FeedState, Reservation, ReservationLine, StockLevel
from store_server.db.savepoint import tell
from store_server.errors import (
    IdempotencyConflict,
    IllegalOrderTransition,
    InsufficientStock,
    RequestRefused,
    ReservationNotPending,
    UnknownReservation,
)
from store_server.usecases import checks, requests, stock
from store_server.usecases.batch import WriteBatch
from store_server.usecases.clock import now_iso, utc_now
from store_server.usecases.feed import append_event
from store_server.usecases.posting import Posting
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.rows import execute, fetch_all, in_list, insert_rows
from store_server.usecases.stock import DEFAULT_LOCATION, available_now, level_wire

_HELD = "SELECT sku, quantity FROM reservation_lines WHERE reservation_id = :id ORDER BY sku"
_RESERVATION_COLUMNS = ("id", "order_id", "location", "status", "expires_at", "actor", "created_at", "closed_at")
_FIND = f"SELECT {', '.join(_RESERVATION_COLUMNS)} FROM reservations WHERE id = :id"  # noqa: S608 - our own names
_CLOSE = "UPDATE reservations SET status = :status, closed_at = :closed_at WHERE id = :id"

PENDING = "pending"
COMMITTED = "committed"
RELEASED = "released"
EXPIRED = "expired"
CLOSING = {COMMITTED: Reason.COMMIT, RELEASED: Reason.RELEASE, EXPIRED: Reason.EXPIRY}
MAX_TTL_S = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Reserve:
    """Hold every line, or nothing."""

    request_id: str
    """Also the reservation's id."""
    actor: str
    lines: tuple[StockLine, ...]
    ttl_s: int
    """Seconds until it expires unless committed or released."""
    location: str = DEFAULT_LOCATION


@dataclass(frozen=True, slots=True)
class ReservationCommand:
    """Commit or release one reservation."""

    request_id: str
    actor: str
    reservation_id: str


@dataclass(frozen=True, slots=True)
class ReservationResult:
    reservation_id: str
    status: str
    location: str
    expires_at: str | None
    lines: tuple[StockLine, ...]
    order_id: str | None = None
    levels: tuple[dict[str, Any], ...] = ()
    """The levels it changed, after the change."""
    exceptions: tuple[str, ...] = ()
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "reservation_id": self.reservation_id,
            "status": self.status,
            "location": self.location,
            "expires_at": self.expires_at,
            "order_id": self.order_id,
            "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in self.lines],
            "levels": list(self.levels),
            "exceptions": list(self.exceptions),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(
            data["reservation_id"],
            data["status"],
            data["location"],
            data["expires_at"],
            tuple(StockLine(ln["sku"], ln["quantity"]) for ln in data["lines"]),
            data["order_id"],
            tuple(data["levels"]),
            tuple(data["exceptions"]),
        )


def reserve(session: Session, cmd: Reserve, now: datetime | None = None) -> ReservationResult:
    """Hold every line for ``ttl_s`` seconds, or nothing; emits ``reservation.granted``.

    Raises:
        InsufficientStock: some SKU has less available than asked (``short`` lists each);
            nothing is held and nothing remembered, so the same request may be sent again.
        QuantityRefused, UnknownSku, UnknownLocation, BadRequest: nothing is written.
        IdempotencyConflict: the request id was used for other content, or is an order's hold's.
    """
    checks.document_id(cmd.request_id, "reservation id")
    lines = checks.lines(cmd.lines, "reservation")
    ttl_s = checks.seconds(cmd.ttl_s, "reservation's ttl_s", 1, MAX_TTL_S)
    checks.known_location(session, cmd.location)
    checks.known_skus(session, (line.sku for line in lines))

    def run(state: FeedState) -> ReservationResult:
        if _find(session, cmd.request_id) is not None:  # no request made it: an order's hold
            raise IdempotencyConflict(
                f"request_id {cmd.request_id} is already the id of an order's hold; send each command with a new id."
            )
        posting = holding_posting(
            session,
            state,
            reservation_id=cmd.request_id,
            order_id=None,
            key=f"reserve:{cmd.request_id}",
            actor=cmd.actor,
        )
        demand = demand_by_sku(lines)
        posting.prefetch(demand, cmd.location)
        # Refused on the levels just read, before any grant: a refusal then writes nothing at
        # all (no grant made and rolled back), which is what most refusals are. The grants
        # still each check again in their conditional UPDATE.
        short = _short(posting, demand, cmd.location)
        if not short:
            for sku, quantity in demand.items():
                if posting.grant(sku, quantity, location=cmd.location) is None:
                    # A refused grant changed nothing: its row says what was there.
                    left = available_now(session, sku, cmd.location)
                    short.append({"sku": sku, "requested": quantity, "available": left})
        if short:
            raise InsufficientStock(_refusal(short), short)
        # Plain inserts (rows.py): nothing in this command reads the rows back through the ORM.
        reservation = Reservation(
            id=cmd.request_id,
            order_id=None,
            location=cmd.location,
            status=PENDING,
            expires_at=expiry(now or utc_now(), ttl_s),
            actor=cmd.actor,
            created_at=now_iso(),
            closed_at=None,
        )
        insert_rows(session, Reservation, [{c: getattr(reservation, c) for c in _RESERVATION_COLUMNS}])
        held_lines = [
            {"reservation_id": reservation.id, "sku": sku, "quantity": quantity} for sku, quantity in demand.items()
        ]
        insert_rows(session, ReservationLine, held_lines)
        return announce(session, state, reservation, "reservation.granted", posting)

    return run_once(session, command_request("reservation.reserve", cmd), ReservationResult, run)


def _short(posting: Posting, demand: dict[str, int], location: str) -> list[dict[str, int | str]]:
    """Each SKU of ``demand`` with less available than asked, as the posting last read or left
    its level (a SKU without a level row has none)."""
    seen = {sku: posting.seen(sku, location) for sku in demand}
    return _shortfall(demand, {sku: level.available for sku, level in seen.items() if level is not None})


def _shortfall(demand: dict[str, int], available: dict[str, int]) -> list[dict[str, int | str]]:
    short: list[dict[str, int | str]] = []
    for sku, quantity in demand.items():
        left = available.get(sku, 0)
        if left < quantity:
            short.append({"sku": sku, "requested": quantity, "available": max(0, left)})
    return short


def _refusal(short: list[dict[str, int | str]]) -> str:
    what = ", ".join(f"{s['sku']} ({s['available']} of {s['requested']})" for s in short)
    return (
        f"Not enough available to hold {what} (available of asked); nothing was held."
        " Ask for at most what is available, or try again after a delivery."
    )


_HOLD = "SELECT 1 FROM reservations WHERE id = :id"


def refused_on_read(cmd: Reserve, fetch: Fetch) -> InsufficientStock | None:
    """The refusal ``reserve`` would give ``cmd`` for too little stock, judged on a read of the
    store (``fetch``, every statement on one state of it), without the writer; None when only
    the writer can answer: enough may be available, the request id was used before (a resend
    gets its first answer, another command with it a conflict; an order's hold has it), or the command is refused for
    something else (its error comes from ``reserve``).

    When a flash sale empties a product, most reservations of it are refused: judged on a read,
    none of them waits for the one database writer or takes its time from the tills. A refusal
    writes nothing and is not remembered, so it is right as of the moment it was read. The read
    sees only what is committed: ask only for a command that no earlier command of the same
    client is still waiting on (a release just before it, say), or it is judged before them.
    """
    try:
        checks.document_id(cmd.request_id, "reservation id")
        lines = checks.lines(cmd.lines, "reservation")
        checks.seconds(cmd.ttl_s, "reservation's ttl_s", 1, MAX_TTL_S)
    except RequestRefused:
        return None
    demand = demand_by_sku(lines)
    skus, listed = in_list("value", sorted(demand))  # the statements below ask for "IN (:values)"
    if (
        fetch(requests.FIND, {"key": cmd.request_id})
        or fetch(_HOLD, {"id": cmd.request_id})  # an order's hold's id: a conflict, the writer's answer
        or not fetch(checks.LOCATION, {"code": cmd.location})
    ):
        return None
    if len(fetch(stock.UNITS.replace("(:values)", skus), listed)) != len(demand):
        return None
    rows = fetch(stock.READ_LEVELS.replace("(:values)", skus), {**listed, "location": cmd.location})
    short = _shortfall(demand, {sku: on_hand - reserved - safety for sku, on_hand, reserved, safety in rows})
    return InsufficientStock(_refusal(short), short) if short else None


def commit_reservation(session: Session, cmd: ReservationCommand, now: datetime | None = None) -> ReservationResult:
    """The goods leave (sold or shipped): reserved -> customer; emits ``reservation.committed``.

    Raises:
        UnknownReservation: nothing is written.
        ReservationNotPending: it is closed already, or its ``expires_at`` has passed (though
            the expiry sweep may not have put it back yet); nothing is written.
        IllegalOrderTransition: it belongs to an order; collect or ship the order instead.
        IdempotencyConflict: the request id was used for other content.
    """
    return _close_standalone(session, cmd, COMMITTED, now)


def release_reservation(session: Session, cmd: ReservationCommand, now: datetime | None = None) -> ReservationResult:
    """Give the units back: reserved -> on hand; emits ``reservation.released``.

    Raises:
        UnknownReservation: nothing is written.
        ReservationNotPending: it is closed already, or its ``expires_at`` has passed (though
            the expiry sweep may not have put it back yet); nothing is written.
        IllegalOrderTransition: it belongs to an order; cancel the order instead.
        IdempotencyConflict: the request id was used for other content.
    """
    return _close_standalone(session, cmd, RELEASED, now)


def _close_standalone(
    session: Session, cmd: ReservationCommand, status: str, now: datetime | None
) -> ReservationResult:
    checks.document_id(cmd.request_id, "request id")
    verb = "commit" if status == COMMITTED else "release"

    def run(state: FeedState) -> ReservationResult:
        reservation = _find(session, cmd.reservation_id)
        if reservation is None:
            raise UnknownReservation(f"There is no reservation {cmd.reservation_id}; it may never have been granted.")
        if reservation.order_id is not None:
            instead = "collect or ship" if status == COMMITTED else "cancel"
            raise IllegalOrderTransition(
                f"Reservation {reservation.id} holds stock for order {reservation.order_id};"
                f" {instead} the order instead."
            )
        if reservation.status != PENDING:
            raise ReservationNotPending(
                f"Reservation {reservation.id} is already {reservation.status}; it can no longer be {status}."
            )
        if reservation.expires_at is not None and reservation.expires_at <= iso(now or utc_now()):
            # Its time is up, though the expiry sweep (every few seconds) has not put it back yet.
            raise ReservationNotPending(
                f"Reservation {reservation.id} expired at {reservation.expires_at}; it can no longer be {status}. "
                "Its units go back to stock within seconds; reserve again if they are still wanted."
            )
        return close_reservation(session, state, reservation, status, actor=cmd.actor, key=f"{verb}:{cmd.request_id}")

    return run_once(session, command_request(f"reservation.{verb}", cmd), ReservationResult, run)


# --- shared with orders and expiry ----------------------------------------------------------------


def holding_posting(
    session: Session,
    state: FeedState,
    *,
    reservation_id: str | None,
    order_id: str | None,
    key: str,
    actor: str,
    batch: WriteBatch | None = None,
) -> Posting:
    """The posting of a hold's movements; their document is the order, if any, else the reservation."""
    document_type, document_id = ("order", order_id) if order_id else ("reservation", reservation_id)
    assert document_id is not None
    return Posting(
        session, state, document_type=document_type, document_id=document_id, key=key, actor=actor, batch=batch
    )


def _find(session: Session, reservation_id: str) -> Reservation | None:
    """The reservation: the session's object if it holds one, else a copy read with one plain query
    (not added to the session: ``close_reservation`` writes with plain statements)."""
    mapped = session.identity_map.get(identity_key(Reservation, reservation_id))
    if isinstance(mapped, Reservation):
        return mapped
    rows = fetch_all(session, _FIND, {"id": reservation_id})
    if not rows:
        return None
    return Reservation(**dict(zip(_RESERVATION_COLUMNS, rows[0], strict=True)))


def open_reservation(
    session: Session, *, reservation_id: str, order_id: str | None, location: str, expires_at: str | None, actor: str
) -> Reservation:
    reservation = Reservation(
        id=reservation_id,
        order_id=order_id,
        location=location,
        status=PENDING,
        expires_at=expires_at,
        actor=actor,
        created_at=now_iso(),
    )
    session.add(reservation)
    session.flush()
    return reservation


def held(session: Session, reservation: Reservation) -> dict[str, int]:
    """What a reservation holds, per SKU in SKU order."""
    return dict(fetch_all(session, _HELD, {"id": reservation.id}))


def grant_up_to(posting: Posting, location: str, sku: str, wanted: int) -> int:
    """Reserve as much of ``wanted`` units of ``sku`` as is available; how many were reserved.

    The figure comes from reading the level, but units are reserved only by the conditional
    UPDATE; should it refuse (someone took them meanwhile), read again and retry.
    """
    session = posting.session
    for _ in range(3):
        level = session.get(StockLevel, (sku, location))
        if level is None:
            return 0
        session.flush()  # nothing pending is lost by reading the row again
        session.refresh(level)
        quantity = grantable(wanted, level.available)
        if quantity == 0:
            return 0
        if posting.grant(sku, quantity, location=location) is not None:
            return quantity
    return 0


def set_held(session: Session, reservation: Reservation, sku: str, quantity: int) -> None:
    """Record that ``reservation`` holds ``quantity`` of ``sku`` (none: no line)."""
    line = session.get(ReservationLine, (reservation.id, sku))
    if line is None and quantity > 0:
        session.add(ReservationLine(reservation_id=reservation.id, sku=sku, quantity=quantity))
    elif line is not None and quantity == 0:
        session.delete(line)
    elif line is not None:
        line.quantity = quantity
    session.flush()


def close_reservation(
    session: Session, state: FeedState, reservation: Reservation, status: str, *, actor: str, key: str
) -> ReservationResult:
    """Commit, release or expire a pending reservation, with its movements and event."""
    posting = holding_posting(
        session,
        state,
        reservation_id=reservation.id,
        order_id=reservation.order_id,
        key=key,
        actor=actor,
        batch=WriteBatch(session, state),
    )
    holding = held(session, reservation)
    posting.prefetch(holding, reservation.location)
    for sku, quantity in holding.items():
        posting.move(sku, quantity, CLOSING[status], location=reservation.location)
    closed_at = now_iso()
    # A plain UPDATE, and the object told (it may be a plain copy, ``_find``, or the session's).
    execute(session, _CLOSE, {"status": status, "closed_at": closed_at, "id": reservation.id}).close()
    tell(reservation, status=status, closed_at=closed_at)
    return announce(session, state, reservation, f"reservation.{status}", posting)


def announce(
    session: Session, state: FeedState, reservation: Reservation, kind: str, posting: Posting
) -> ReservationResult:
    """Close the posting, emit ``kind`` with the reservation, and return its result."""
    exceptions = posting.close()
    session.flush()
    result = ReservationResult(
        reservation.id,
        reservation.status,
        reservation.location,
        reservation.expires_at,
        tuple(StockLine(sku, q) for sku, q in held(session, reservation).items()),
        reservation.order_id,
        tuple(level_wire(lv) for lv in posting.levels),
        tuple(exceptions),
    )
    data = result.to_wire()
    del data["levels"], data["exceptions"]
    append_event(session, state, kind, data)
    return result
