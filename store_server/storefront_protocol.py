"""The storefront's commands (docs/protocol.md, ``/storefront``): frames and rules, no I/O.

A decoded frame becomes a use case's command here, after the token's scope is checked, and a
use case's result becomes the reply frame; ``storefront_endpoint`` runs the command on the
database. Every field is checked before anything runs, so a malformed command writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pos_core.errors import InvalidQuantity
from pos_core.inventory import MAX_SKU_LEN, StockLine, check_quantity
from pos_core.orders import ONLINE
from pos_core.protocol import (
    BAD_JSON,
    BAD_MESSAGE,
    FORBIDDEN_SCOPE,
    IDEMPOTENCY_CONFLICT,
    ILLEGAL_TRANSITION,
    INSUFFICIENT_STOCK,
    INTERNAL,
    INVALID_QUANTITY,
    RESERVATION_NOT_PENDING,
    SCOPE_ORDERS_READ,
    SCOPE_ORDERS_WRITE,
    SCOPE_STOCK_READ,
    SCOPE_STOCK_RESERVE,
    UNKNOWN_LOCATION,
    UNKNOWN_ORDER,
    UNKNOWN_RESERVATION,
    UNKNOWN_SKU,
    UNKNOWN_TYPE,
    ProtocolError,
    field_int,
)
from store_server.usecases.checks import MAX_ID_LEN
from store_server.usecases.orders import DEFAULT_HOLD_S, OrderResult, OrderStep, PlaceOrder, UpdateOrder
from store_server.usecases.reservations import MAX_TTL_S, ReservationCommand, ReservationResult, Reserve
from store_server.usecases.stock import DEFAULT_LOCATION

# Commands a storefront sends, and the scope each needs.
STOCK_QUERY = "stock.query"
RESERVATION_RESERVE = "reservation.reserve"
RESERVATION_COMMIT = "reservation.commit"
RESERVATION_RELEASE = "reservation.release"
ORDER_PLACE = "order.place"
ORDER_UPDATE = "order.update"
ORDER_CANCEL = "order.cancel"
ORDER_COLLECT = "order.collect"
ORDER_GET = "order.get"
SCOPE_FOR: Mapping[str, str] = {
    STOCK_QUERY: SCOPE_STOCK_READ,
    RESERVATION_RESERVE: SCOPE_STOCK_RESERVE,
    RESERVATION_COMMIT: SCOPE_STOCK_RESERVE,
    RESERVATION_RELEASE: SCOPE_STOCK_RESERVE,
    ORDER_PLACE: SCOPE_ORDERS_WRITE,
    ORDER_UPDATE: SCOPE_ORDERS_WRITE,
    ORDER_CANCEL: SCOPE_ORDERS_WRITE,
    ORDER_COLLECT: SCOPE_ORDERS_WRITE,
    ORDER_GET: SCOPE_ORDERS_READ,
}
CLIENT_MESSAGES = tuple(SCOPE_FOR)
READS = frozenset({STOCK_QUERY, ORDER_GET})
"""Commands that change nothing and so carry no ``request_id``."""

# Replies.
STOCK_LEVELS = "stock.levels"
RESERVATION = "reservation"
ORDER = "order"
ERROR = "error"
SERVER_MESSAGES = (STOCK_LEVELS, RESERVATION, ORDER, ERROR)

STOREFRONT_ERRORS = (
    BAD_JSON,
    BAD_MESSAGE,
    UNKNOWN_TYPE,
    FORBIDDEN_SCOPE,
    INVALID_QUANTITY,
    UNKNOWN_SKU,
    UNKNOWN_LOCATION,
    INSUFFICIENT_STOCK,
    UNKNOWN_RESERVATION,
    RESERVATION_NOT_PENDING,
    UNKNOWN_ORDER,
    ILLEGAL_TRANSITION,
    IDEMPOTENCY_CONFLICT,
    INTERNAL,
)
"""What an ``error`` frame on ``/storefront`` may carry."""

MAX_QUERY_SKUS = 1000
MAX_LOCATION_LEN = 64
MAX_TEXT_LEN = 200


class ScopeRefused(ProtocolError):
    """The token lacks the scope a command needs; ``scope`` names it."""

    def __init__(self, kind: str, scope: str, req: str | None) -> None:
        super().__init__(
            FORBIDDEN_SCOPE,
            f"This token may not send {kind!r}: it lacks the {scope} scope; ask for a token that has it.",
            req,
        )
        self.scope = scope


@dataclass(frozen=True, slots=True)
class StockQuery:
    """The figures of many SKUs at one location."""

    skus: tuple[str, ...]
    location: str


@dataclass(frozen=True, slots=True)
class OrderQuery:
    order_id: str


Body = StockQuery | OrderQuery | Reserve | ReservationCommand | PlaceOrder | UpdateOrder | OrderStep


@dataclass(frozen=True, slots=True)
class Command:
    """One checked storefront command: its type, the ``req`` to echo, and the use case's input."""

    kind: str
    req: str | None
    body: Body

    @property
    def request_id(self) -> str | None:
        return None if isinstance(self.body, StockQuery | OrderQuery) else self.body.request_id


def read_command(message: dict[str, Any], scopes: Collection[str], actor: str) -> Command:
    """Check a decoded frame (``pos_core.protocol.decode``) and turn it into a command.

    The type is checked first, then the scope, then every field.

    Args:
        scopes: what the connection's token may do.
        actor: who the ledger names for the change.

    Raises:
        ProtocolError: ``unknown_type``, ``bad_message`` (a field missing, of the wrong type or
            out of range; the message names it) or ``invalid_quantity``.
        ScopeRefused: ``forbidden_scope``.
    """
    kind, req = message["type"], message.get("req")
    scope = SCOPE_FOR.get(kind)
    if scope is None:
        known = ", ".join(CLIENT_MESSAGES)
        raise ProtocolError(
            UNKNOWN_TYPE, f"This server does not know {kind!r} on /storefront; send one of {known}.", req
        )
    if scope not in scopes:
        raise ScopeRefused(kind, scope, req)
    return Command(kind, req, _PARSERS[kind](_Fields(message, req), actor))


class _Fields:
    """Typed access to a command's fields; each refusal names the field."""

    def __init__(self, message: dict[str, Any], req: str | None) -> None:
        self.message = message
        self.req = req

    def bad(self, sentence: str) -> ProtocolError:
        return ProtocolError(BAD_MESSAGE, sentence, self.req)

    def text(self, key: str, max_len: int) -> str:
        value = self.message.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= max_len:
            raise self.bad(f"'{key}' must be a string of 1 to {max_len} characters.")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.message.get(key) is None else self.text(key, MAX_TEXT_LEN)

    def id(self, key: str) -> str:
        value = self.message.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LEN:
            raise self.bad(f"'{key}' must be an id of 1 to {MAX_ID_LEN} characters, such as a UUID.")
        return value

    def location(self) -> str:
        return DEFAULT_LOCATION if self.message.get("location") is None else self.text("location", MAX_LOCATION_LEN)

    def seconds(self, key: str, low: int, high: int, default: int | None = None) -> int:
        return field_int(self.message, key, default=default, low=low, high=high)

    def skus(self) -> tuple[str, ...]:
        value = self.message.get("skus")
        if not isinstance(value, list) or not 0 < len(value) <= MAX_QUERY_SKUS:
            raise self.bad(f"'skus' must be a list of 1 to {MAX_QUERY_SKUS} SKUs; split a longer query.")
        for sku in value:
            if not isinstance(sku, str) or not 0 < len(sku) <= MAX_SKU_LEN:
                raise self.bad(f"Every SKU in 'skus' must be a string of 1 to {MAX_SKU_LEN} characters.")
        return tuple(value)

    def lines(self) -> tuple[StockLine, ...]:
        """``lines``: ``{"sku","quantity"}`` objects; how many and the SKUs are the use case's to check."""
        value = self.message.get("lines")
        if not isinstance(value, list):
            raise self.bad('\'lines\' must be a list of {"sku": ..., "quantity": ...} objects.')
        lines = []
        for no, line in enumerate(value, 1):
            if not isinstance(line, dict):
                raise self.bad(f"Line {no} of 'lines' must be an object with 'sku' and 'quantity'.")
            sku, quantity = line.get("sku"), line.get("quantity")
            if not isinstance(sku, str) or not 0 < len(sku) <= MAX_SKU_LEN:
                raise self.bad(f"Line {no} of 'lines' needs a 'sku' string of 1 to {MAX_SKU_LEN} characters.")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float):
                raise self.bad(f"Line {no} of 'lines' needs a 'quantity' that is a number.")
            try:
                lines.append(StockLine(sku, check_quantity(quantity, f"{sku} (line {no})")))
            except InvalidQuantity as exc:
                raise ProtocolError(INVALID_QUANTITY, str(exc), self.req) from None
        return tuple(lines)

    def channel(self) -> str:
        value = self.message.get("channel")
        if not isinstance(value, str) or value not in ONLINE:  # a list or an object cannot even be looked up
            allowed = " or ".join(f"'{c}'" for c in sorted(ONLINE))
            raise self.bad(f"'channel' must be {allowed}.")
        return str(value)


def _stock_query(f: _Fields, _actor: str) -> Body:
    return StockQuery(f.skus(), f.location())


def _reserve(f: _Fields, actor: str) -> Body:
    return Reserve(f.id("request_id"), actor, f.lines(), f.seconds("ttl_s", 1, MAX_TTL_S), f.location())


def _reservation(f: _Fields, actor: str) -> Body:
    return ReservationCommand(f.id("request_id"), actor, f.id("reservation_id"))


def _place(f: _Fields, actor: str) -> Body:
    return PlaceOrder(
        f.id("request_id"),
        actor,
        f.channel(),
        f.lines(),
        f.location(),
        f.seconds("hold_s", 60, MAX_TTL_S, DEFAULT_HOLD_S),
        f.optional_text("reference"),
        f.optional_text("customer_name"),
    )


def _update(f: _Fields, actor: str) -> Body:
    return UpdateOrder(f.id("request_id"), actor, f.id("order_id"), f.lines())


def _step(f: _Fields, actor: str) -> Body:
    return OrderStep(f.id("request_id"), actor, f.id("order_id"))


def _get(f: _Fields, _actor: str) -> Body:
    return OrderQuery(f.id("order_id"))


_PARSERS: Mapping[str, Callable[[_Fields, str], Body]] = {
    STOCK_QUERY: _stock_query,
    RESERVATION_RESERVE: _reserve,
    RESERVATION_COMMIT: _reservation,
    RESERVATION_RELEASE: _reservation,
    ORDER_PLACE: _place,
    ORDER_UPDATE: _update,
    ORDER_CANCEL: _step,
    ORDER_COLLECT: _step,
    ORDER_GET: _get,
}


def _frame(kind: str, req: str | None, **fields: Any) -> dict[str, Any]:
    """A reply of type ``kind``, echoing ``req`` when the command had one."""
    return {"type": kind, **({"req": req} if req is not None else {}), **fields}


def levels_reply(req: str | None, location: str, as_of_seq: int, levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer to ``stock.query``: the figures as of the feed's ``as_of_seq``."""
    return _frame(STOCK_LEVELS, req, location=location, as_of_seq=as_of_seq, levels=levels)


def reservation_reply(command: Command, result: ReservationResult, seq: int | None) -> dict[str, Any]:
    """The answer to a reservation command: the reservation and the levels it changed."""
    reservation = result.to_wire()
    levels = reservation.pop("levels")
    del reservation["exceptions"]
    return _change(RESERVATION, command, result.duplicate, seq, reservation=reservation, levels=levels)


def order_reply(command: Command, result: OrderResult, seq: int | None) -> dict[str, Any]:
    """The answer to an order command (or ``order.get``): the whole order, per line held and short."""
    return _change(ORDER, command, result.duplicate, seq, order=result.to_wire())


def _change(kind: str, command: Command, duplicate: bool, seq: int | None, **body: Any) -> dict[str, Any]:
    """A reply to a command that may have changed something.

    ``seq`` is the feed seq of the command's last event; None for a repeat (nothing was written)
    and for a read.
    """
    return _frame(kind, command.req, request_id=command.request_id, duplicate=duplicate, seq=seq, **body)
