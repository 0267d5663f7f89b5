"""The clients of ``pos bench store``: lanes, a storefront and a feed consumer, on raw websockets.

They speak the documented protocol (docs/protocol.md) with as little work per message as
possible, so the load generator does not become what is measured: a lane's sales are made
once, as JSON text with a placeholder for the id, and each send only puts a new id in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product
from pos_core.ids import new_id
from pos_core.json_text import parse
from pos_core.sale import Sale
from store_server.feed_protocol import EVENTS, subscribe_frame

ID_MARK = "00000000-0000-4000-8000-000000000000"
"""Stands for the sale id in a sale's JSON until it is sent."""
TIME_MARK = "2000-01-01T00:00:00.000000+00:00"
"""Stands for the sale's time in its JSON until it is sent, when it becomes the time then, to
the microsecond, as a register stamps each sale (``pos_desktop.lane.session``)."""
MAX_INCOMING = 16 * 1024 * 1024


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The clients send no keepalive pings (``ping_interval=None``): an overloaded server reads a
# connection's frames in order, so a ping waits behind the commands queued before it, and after
# 20 s the client would close a connection the benchmark is there to measure.


class BenchFailed(Exception):
    """The server refused something the benchmark needs, or went away."""


def sale_templates(
    products: Sequence[Product], rules: TaxRules, hot: Sequence[Product], rng: random.Random, count: int
) -> list[str]:
    """``count`` correct cash sales of 1-5 lines as JSON text, the id left as ``ID_MARK`` and
    the time as ``TIME_MARK``.

    One in ten takes a unit of a ``hot`` product, which the storefront reserves too.
    """
    templates = []
    for _ in range(count):
        basket = Basket(rules)
        lines = rng.randint(1, 5)
        chosen = rng.sample(products, lines)
        if hot and rng.random() < 0.1:
            chosen[0] = rng.choice(hot)
        for product in dict.fromkeys(chosen):  # one line per SKU, as a register sends
            basket.add(product, rng.randint(1, 3))
        total = basket.totals().total
        sale = Sale.from_basket(
            basket,
            sale_id=ID_MARK,
            register="BENCH",
            cashier_id="CASHIER",
            created_at=TIME_MARK,
            cash_tendered=total,
        )
        templates.append(json.dumps(sale.to_wire(), separators=(",", ":")))
    return templates


@dataclass
class Timings:
    """What one phase measured."""

    acks_ms: list[float] = field(default_factory=list)
    sales: int = 0
    commands: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    last_seq: int = 0


class Endpoint:
    """One websocket connection with requests matched to replies by ``req``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read())

    async def request(self, frame: str) -> dict[str, Any]:
        """Send ``frame`` (a JSON object ending in ``}``) with a ``req`` added; await the reply."""
        req = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req] = future
        await self.ws.send(f'{frame[:-1]},"req":"{req}"}}')
        return await future

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                message = parse(frame)
                future = self._pending.pop(str(message.get("req")), None)
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BenchFailed("The store server closed the connection."))


async def open_endpoint(url: str, token: str) -> tuple[Endpoint, dict[str, Any]]:
    ws = await connect(url, additional_headers=_auth(token), max_size=MAX_INCOMING, proxy=None, ping_interval=None)
    first = json.loads(await ws.recv()) if url.endswith("/register") else {}
    return Endpoint(ws), first


class Lane:
    """A register ringing up prepared sales."""

    def __init__(self, endpoint: Endpoint, templates: Sequence[str], rng: random.Random) -> None:
        self.endpoint = endpoint
        self.templates = templates
        self.rng = rng

    async def login(self, pin: str) -> None:
        cashiers = (await self.endpoint.request('{"type":"cashiers.list"}'))["cashiers"]
        login = {"type": "cashier.login", "cashier_id": cashiers[0]["id"], "pin": pin}
        reply = await self.endpoint.request(json.dumps(login))
        if reply.get("type") != "cashier.login":
            raise BenchFailed(f"The bench cashier could not log in: {reply.get('message')}")
        self.cashier_id = cashiers[0]["id"]

    async def sell(self, timings: Timings, planned: float | None = None) -> None:
        template = self.rng.choice(self.templates)
        sale = template.replace(ID_MARK, new_id()).replace(TIME_MARK, datetime.now(UTC).isoformat())
        sale = sale.replace("CASHIER", self.cashier_id)
        start = planned if planned is not None else time.perf_counter()
        reply = await self.endpoint.request(f'{{"type":"sale.submit","sale":{sale}}}')
        timings.acks_ms.append((time.perf_counter() - start) * 1000)
        if reply.get("type") != "sale.accepted":
            timings.errors.append(f"sale refused: {reply.get('code')}: {reply.get('message')}")
            return
        timings.sales += 1
        timings.commands += 1
        timings.last_seq = max(timings.last_seq, reply["seq"])


class Storefront:
    """A web shop reserving hot products, then committing or releasing each hold it got."""

    def __init__(self, endpoint: Endpoint, hot: Sequence[str], rng: random.Random) -> None:
        self.endpoint = endpoint
        self.hot = hot
        self.rng = rng
        self.held: list[str] = []
        self.granted = 0
        self.refused = 0

    async def step(self, timings: Timings, planned: float | None = None) -> None:
        """One command: close a hold (commit or release) when one is waiting, else reserve."""
        start = planned if planned is not None else time.perf_counter()
        if self.held and self.rng.random() < 0.5:
            kind = self.rng.choice(("reservation.commit", "reservation.release"))
            held = self.held.pop(0)
            command: dict[str, Any] = {"type": kind, "request_id": new_id(), "reservation_id": held}
        else:
            skus = self.rng.sample(self.hot, self.rng.randint(1, 2))
            lines = [{"sku": sku, "quantity": self.rng.randint(1, 3)} for sku in skus]
            command = {"type": "reservation.reserve", "request_id": new_id(), "lines": lines, "ttl_s": 900}
        reply = await self.endpoint.request(json.dumps(command))
        timings.acks_ms.append((time.perf_counter() - start) * 1000)
        timings.commands += 1
        if reply.get("type") == "reservation":
            if command["type"] == "reservation.reserve":
                self.granted += 1
                self.held.append(reply["reservation"]["reservation_id"])
            if isinstance(reply.get("seq"), int):
                timings.last_seq = max(timings.last_seq, reply["seq"])
        elif reply.get("code") == "insufficient_stock":
            self.refused += 1
            timings.refused += 1
        else:
            timings.errors.append(f"{command['type']} refused: {reply.get('code')}: {reply.get('message')}")


class FeedWatcher:
    """A storefront following ``/feed`` (this revision: events in batches): records when each
    event arrives, acknowledges as it goes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last_seq = 0
        self.lags_ms: list[float] | None = None
        """Set to a list to record each event's lag (now minus its ``at``) into it."""
        self.gaps = 0
        self._advanced = asyncio.Event()
        self._task = asyncio.create_task(self._follow())
        self._acker = asyncio.create_task(self._ack())

    async def caught_up(self, seq: int, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.last_seq < seq:
                    self._advanced.clear()
                    await self._advanced.wait()
        return self.last_seq >= seq

    async def close(self) -> None:
        for task in (self._acker, self._task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ws.close()

    async def _follow(self) -> None:
        async for frame in self.ws:
            if not isinstance(frame, str) or not frame.startswith(f'{{"type":"{EVENTS}"'):
                continue
            now = time.time()
            for event in parse(frame)["events"]:
                if event["seq"] != self.last_seq + 1:
                    self.gaps += 1
                self.last_seq = event["seq"]
                if self.lags_ms is not None:
                    self.lags_ms.append((now - datetime.fromisoformat(event["at"]).timestamp()) * 1000)
            self._advanced.set()

    async def _ack(self) -> None:
        acked = 0
        while True:
            await asyncio.sleep(0.02)
            if self.last_seq > acked:
                acked = self.last_seq
                await self.ws.send(json.dumps({"type": "ack", "seq": acked}))


async def open_feed(url: str, token: str) -> FeedWatcher:
    ws = await connect(url, additional_headers=_auth(token), max_size=MAX_INCOMING, proxy=None, ping_interval=None)
    await ws.send(json.dumps(subscribe_frame(0, None)))
    subscribed = json.loads(await ws.recv())
    if subscribed.get("type") != "subscribed":
        raise BenchFailed(f"The feed refused the subscription: {subscribed.get('message')}")
    return FeedWatcher(ws)
