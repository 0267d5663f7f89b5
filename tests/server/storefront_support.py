"""Helpers for the storefront command tests: a bare ``/storefront`` client, tokens with chosen
scopes, a clock the test moves, and a look at everything the database holds."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from store_server.db.engine import open_database
from store_server.server import StoreServer
from store_server.usecases.credentials import issue_token
from tests.server.inventory_support import Shop
from tests.server.support import Tokens, prepare_store


class FakeClock:
    """The server's clock, moved by the test: reservations expire when the test says so."""

    def __init__(self, start: datetime = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rid() -> str:
    return str(uuid.uuid4())


def issue(url: str, kind: str = "storefront", scopes: Iterable[str] | None = None, name: str = "web shop") -> str:
    """A new token for the store at ``url``."""
    db = open_database(url)
    try:
        with db.write() as session:
            return issue_token(session, kind, name, scopes)
    finally:
        db.close()


def fingerprint(url: str) -> dict[str, Any]:
    """Row counts of every table and every level: equal fingerprints mean nothing was written."""
    db = open_database(url)
    try:
        return Shop(db).fingerprint()
    finally:
        db.close()


@asynccontextmanager
async def storefront_server(
    url: str, *, clock: FakeClock | None = None, expiry_interval_s: float = 5.0, writer_process: bool = False
) -> AsyncIterator[tuple[StoreServer, Tokens]]:
    """The test store, served; its storefront token has every scope.

    Feed heartbeats are 30 s apart, so an event that arrives sooner came because the command
    (or the expiry timer) woke the feed, not because a heartbeat tick looked again.
    """
    tokens = await asyncio.to_thread(prepare_store, url)
    server = StoreServer(
        url,
        heartbeat_s=30.0,
        expiry_interval_s=expiry_interval_s,
        clock=clock or FakeClock(),
        writer_process=writer_process,
    )
    await server.start()
    try:
        yield server, tokens
    finally:
        await server.stop()


class Storefront:
    """A bare ``/storefront`` client: one request, one reply, matched by ``req``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._n = 0

    async def request(self, message: dict[str, Any], wait_s: float = 10.0) -> dict[str, Any]:
        self._n += 1
        message = {"req": f"s{self._n}", **message}
        await self.ws.send(json.dumps(message))
        reply = await self.receive(wait_s)
        assert reply.get("req") == message["req"], reply
        return reply

    async def send_raw(self, frame: str | bytes) -> dict[str, Any]:
        await self.ws.send(frame)
        return await self.receive()

    async def receive(self, wait_s: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(wait_s):
            reply: dict[str, Any] = json.loads(await self.ws.recv())
        return reply

    async def reserve(self, *lines: tuple[str, int], ttl_s: int = 600, request_id: str | None = None) -> dict[str, Any]:
        return await self.request(
            {
                "type": "reservation.reserve",
                "request_id": request_id or rid(),
                "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
                "ttl_s": ttl_s,
            }
        )

    async def place(
        self, *lines: tuple[str, int], channel: str = "pickup", request_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        return await self.request(
            {
                "type": "order.place",
                "request_id": request_id or rid(),
                "channel": channel,
                "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
                **extra,
            }
        )

    async def levels(self, *skus: str) -> dict[str, dict[str, Any]]:
        reply = await self.request({"type": "stock.query", "skus": list(skus)})
        assert reply["type"] == "stock.levels", reply
        return {lv["sku"]: lv for lv in reply["levels"]}


class FeedWatch:
    """A ``/feed`` consumer that reads events up to a seq and acknowledges them."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen = 0

    async def through(self, seq: int, wait_s: float = 5.0) -> list[dict[str, Any]]:
        """The events after the last one read, through ``seq`` (heartbeats skipped)."""
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(wait_s):
            while self.seen < seq:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == "event":
                    assert frame["seq"] == self.seen + 1, frame
                    self.seen = frame["seq"]
                    events.append(frame)
        await self.ws.send(json.dumps({"type": "ack", "seq": self.seen}))
        return events


@asynccontextmanager
async def watch_feed(server: StoreServer, token: str) -> AsyncIterator[FeedWatch]:
    """A ``/feed`` consumer replaying from seq 0 and following live."""
    url = f"ws://127.0.0.1:{server.port}/feed"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "subscribe", "protocol": 2, "since": 0}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply["type"] == "subscribed", reply
        yield FeedWatch(ws)


def storefront_url(server: StoreServer) -> str:
    return f"ws://127.0.0.1:{server.port}/storefront"


@asynccontextmanager
async def storefront(server: StoreServer, token: str, **kwargs: Any) -> AsyncIterator[Storefront]:
    async with connect(storefront_url(server), additional_headers={"Authorization": f"Bearer {token}"}, **kwargs) as ws:
        yield Storefront(ws)
