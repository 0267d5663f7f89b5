"""The reference client of ``/storefront``, storefront protocol 1 (docs/protocol.md, "Storefront commands").

``StorefrontClient`` sends one command at a time on one connection. Every command that changes
something gets a ``request_id`` made here (a UUID) before it is first sent; when the connection
drops, no reply comes in time, or the server answers ``internal``, the client reconnects with
backoff and sends the **same** command again, so the store does it once and the client gets
its answer (``duplicate`` true when the first try had gone through). Every refusal is raised as
one exception type, ``StorefrontError``, carrying the documented error code.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from pos_core.ids import new_id
from pos_core.protocol import INTERNAL, ProtocolError, decode, encode
from store_server.errors import StoreError
from store_server.feed_client import Backoff
from store_server.feed_mirror import StockFigures

log = logging.getLogger(__name__)

__all__ = [
    "REFUSED",
    "UNREACHABLE",
    "Availability",
    "Backoff",
    "HeldReservation",
    "OnlineOrder",
    "OrderLine",
    "StorefrontClient",
    "StorefrontError",
]

REFUSED = "refused"
"""Client-side code: the server refused the connection (HTTP 401, 403 or 404); fix the token."""
UNREACHABLE = "unreachable"
"""Client-side code: no answer within ``give_up_s`` despite reconnecting; the command may or
may not have been done, so send it again later with the same ``request_id``."""


class StorefrontError(StoreError):
    """A command the store refused, or could not be sent; ``code`` is the documented error code.

    ``short`` is set with ``insufficient_stock`` (``{"sku","requested","available"}`` per SKU),
    ``scope`` with ``forbidden_scope``, ``request_id`` for a command that changes something.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        short: tuple[dict[str, Any], ...] = (),
        scope: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.short = short
        self.scope = scope
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Availability:
    """The answer to ``stock.query``: each SKU's figures, exactly as of feed seq ``as_of_seq``."""

    location: str
    as_of_seq: int
    levels: dict[str, StockFigures]


@dataclass(frozen=True, slots=True)
class HeldReservation:
    """The answer to ``reservation.reserve``, ``.commit`` and ``.release``."""

    reservation_id: str
    status: str
    location: str
    expires_at: str | None
    order_id: str | None
    lines: dict[str, int]
    """SKU -> units it holds (or held when it closed)."""
    levels: dict[str, StockFigures]
    """The levels the command changed, after the change (by SKU)."""
    request_id: str | None
    duplicate: bool
    seq: int | None


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_no: int
    sku: str
    quantity: int
    reserved: int
    short: int


@dataclass(frozen=True, slots=True)
class OnlineOrder:
    """The answer to ``order.place``, ``.update``, ``.cancel``, ``.collect`` and ``.get``."""

    order_id: str
    channel: str
    status: str
    location: str
    reservation_id: str | None
    expires_at: str | None
    reference: str | None
    customer_name: str | None
    lines: tuple[OrderLine, ...]
    request_id: str | None
    duplicate: bool
    seq: int | None

    @property
    def short(self) -> int:
        """Units not held, over every line."""
        return sum(line.short for line in self.lines)


Lines = Iterable[tuple[str, int]]


@dataclass(slots=True)
class _Connection:
    ws: ClientConnection | None = None
    reqs: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class StorefrontClient:
    """Sends storefront commands to ``url``, across reconnects, each done at most once.

    Use it as ``async with StorefrontClient(url, token) as store: ...``. Commands on one client
    run one after another (the protocol answers in order); open several clients for commands
    in flight at once.

    Args:
        url: the ``/storefront`` URL, e.g. ``ws://127.0.0.1:8765/storefront``.
        token: a storefront token with the scopes the commands need.
        backoff: delays between reconnects.
        reply_timeout_s: how long to wait for a reply before reconnecting and sending it again.
        give_up_s: how long one command keeps trying before ``StorefrontError(UNREACHABLE)``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        backoff: Backoff | None = None,
        reply_timeout_s: float = 30.0,
        give_up_s: float = 60.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.reconnects = 0
        """How many times a command was sent again on a new connection."""
        self._headers = {"Authorization": f"Bearer {token}"}
        self._backoff = backoff if backoff is not None else Backoff()
        self._reply_timeout_s = reply_timeout_s
        self._give_up_s = give_up_s
        self._open_timeout_s = open_timeout_s
        self._conn = _Connection()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; the next command opens a new one."""
        ws, self._conn.ws = self._conn.ws, None
        if ws is not None:
            await ws.close()

    # --- the commands --------------------------------------------------------------------------

    async def availability(self, skus: Iterable[str], *, location: str | None = None) -> Availability:
        """``stock.query``: the figures of up to 1,000 SKUs; only ``available`` may be promised."""
        reply = await self._send({"type": "stock.query", "skus": list(skus), **_at(location)})
        return Availability(reply["location"], reply["as_of_seq"], _levels(reply["levels"]))

    async def reserve(
        self, lines: Lines, ttl_s: int, *, location: str | None = None, request_id: str | None = None
    ) -> HeldReservation:
        """``reservation.reserve``: hold every line for ``ttl_s`` seconds, or nothing (``insufficient_stock``)."""
        frame = {"type": "reservation.reserve", "ttl_s": ttl_s, "lines": _wire_lines(lines), **_at(location)}
        return _reservation(await self._change(frame, request_id))

    async def commit(self, reservation_id: str, *, request_id: str | None = None) -> HeldReservation:
        """``reservation.commit``: the goods left (sold online and handed over or shipped)."""
        frame = {"type": "reservation.commit", "reservation_id": reservation_id}
        return _reservation(await self._change(frame, request_id))

    async def release(self, reservation_id: str, *, request_id: str | None = None) -> HeldReservation:
        """``reservation.release``: give the units back (a cart abandoned)."""
        frame = {"type": "reservation.release", "reservation_id": reservation_id}
        return _reservation(await self._change(frame, request_id))

    async def place_order(
        self,
        lines: Lines,
        channel: str,
        *,
        hold_s: int | None = None,
        reference: str | None = None,
        customer_name: str | None = None,
        location: str | None = None,
        request_id: str | None = None,
    ) -> OnlineOrder:
        """``order.place``: ``channel`` ``pickup`` or ``ship_from_store``; holds what it can, per line."""
        frame: dict[str, Any] = {"type": "order.place", "channel": channel, "lines": _wire_lines(lines)}
        frame.update(_at(location))
        for key, value in (("hold_s", hold_s), ("reference", reference), ("customer_name", customer_name)):
            if value is not None:
                frame[key] = value
        return _order(await self._change(frame, request_id))

    async def update_order(self, order_id: str, lines: Lines, *, request_id: str | None = None) -> OnlineOrder:
        """``order.update``: replace every line of a placed or reserved order."""
        frame = {"type": "order.update", "order_id": order_id, "lines": _wire_lines(lines)}
        return _order(await self._change(frame, request_id))

    async def cancel_order(self, order_id: str, *, request_id: str | None = None) -> OnlineOrder:
        """``order.cancel``: cancel an order that has not left; its hold is released."""
        return _order(await self._change({"type": "order.cancel", "order_id": order_id}, request_id))

    async def collect(self, order_id: str, *, request_id: str | None = None) -> OnlineOrder:
        """``order.collect``: the customer collected a ready pickup order."""
        return _order(await self._change({"type": "order.collect", "order_id": order_id}, request_id))

    async def get_order(self, order_id: str) -> OnlineOrder:
        """``order.get``: an order as it is now."""
        return _order(await self._send({"type": "order.get", "order_id": order_id}))

    # --- sending, again if need be -------------------------------------------------------------

    async def _change(self, frame: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        """Send a command that changes something, with its idempotency key made once, here."""
        return await self._send({**frame, "request_id": request_id or new_id()})

    async def _send(self, frame: dict[str, Any]) -> dict[str, Any]:
        """The reply to ``frame``; sent again (same content) after a drop, a timeout or ``internal``.

        Raises:
            StorefrontError: the server's refusal, ``refused`` or ``unreachable``.
        """
        request_id = frame.get("request_id")
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._give_up_s
            delays = self._backoff.delays()
            first = True
            while True:
                if not first:
                    self.reconnects += 1
                first = False
                try:
                    reply = await self._exchange(frame)
                except (OSError, TimeoutError, ConnectionClosed) as exc:
                    log.info("storefront command %s not answered (%s); sending it again", frame["type"], exc)
                    await self.close()
                    problem = str(exc) or type(exc).__name__
                else:
                    if reply.get("type") != "error":
                        return reply
                    error = _error(reply, request_id)
                    if error.code != INTERNAL:
                        raise error
                    problem = str(error)
                delay = next(delays)
                if loop.time() + delay > deadline:
                    raise StorefrontError(
                        UNREACHABLE,
                        f"The store server did not answer {frame['type']} within {self._give_up_s:.0f} s ({problem});"
                        " send it again later with the same request_id.",
                        request_id=request_id,
                    )
                await asyncio.sleep(delay)

    async def _exchange(self, frame: dict[str, Any]) -> dict[str, Any]:
        ws = self._conn.ws if self._conn.ws is not None else await self._open()
        req = f"c{next(self._conn.reqs)}"
        await ws.send(encode({**frame, "req": req}))
        async with asyncio.timeout(self._reply_timeout_s):
            while True:
                try:
                    reply = decode(await ws.recv())
                except ProtocolError as exc:
                    raise StorefrontError(exc.code, f"The store server sent a frame we cannot read: {exc}") from None
                if reply.get("req") == req:
                    return reply
                # A late reply to a command given up on before a reconnect cannot arrive here
                # (a new connection), so anything else is from a later revision: skip it.

    async def _open(self) -> ClientConnection:
        try:
            ws = await connect(self.url, additional_headers=self._headers, open_timeout=self._open_timeout_s)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                body = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
                raise StorefrontError(
                    REFUSED, body or f"The store server refused /storefront (HTTP {status})."
                ) from None
            raise OSError(f"HTTP {status}") from None
        except InvalidHandshake as exc:  # the server went away mid-handshake: try again
            raise OSError(str(exc)) from None
        self._conn = _Connection(ws)
        return ws


def _at(location: str | None) -> dict[str, Any]:
    return {} if location is None else {"location": location}


def _wire_lines(lines: Lines) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in lines]


def _levels(levels: list[dict[str, Any]]) -> dict[str, StockFigures]:
    found = (StockFigures.from_wire(level) for level in levels)
    return {sku: figures for (sku, _location), figures in found}


def _reservation(reply: dict[str, Any]) -> HeldReservation:
    r = reply["reservation"]
    return HeldReservation(
        r["reservation_id"],
        r["status"],
        r["location"],
        r["expires_at"],
        r["order_id"],
        {line["sku"]: line["quantity"] for line in r["lines"]},
        _levels(reply["levels"]),
        reply["request_id"],
        reply["duplicate"],
        reply["seq"],
    )


def _order(reply: dict[str, Any]) -> OnlineOrder:
    o = reply["order"]
    return OnlineOrder(
        o["order_id"],
        o["channel"],
        o["status"],
        o["location"],
        o["reservation_id"],
        o["expires_at"],
        o["reference"],
        o["customer_name"],
        tuple(OrderLine(ln["line_no"], ln["sku"], ln["quantity"], ln["reserved"], ln["short"]) for ln in o["lines"]),
        reply["request_id"],
        reply["duplicate"],
        reply["seq"],
    )


def _error(reply: dict[str, Any], request_id: str | None) -> StorefrontError:
    short = reply.get("short")
    scope = reply.get("scope")
    return StorefrontError(
        str(reply.get("code", INTERNAL)),
        str(reply.get("message", "The store server refused the command.")),
        short=tuple(short) if isinstance(short, list) else (),
        scope=scope if isinstance(scope, str) else None,
        request_id=request_id,
    )
