"""Helpers for the feed tests: a store with many SKUs, lanes that keep selling, a raw revision 2
consumer, a proxy that cuts connections, and the database's own figures to compare against."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, select, update
from websockets.asyncio.client import ClientConnection, connect

from pos_core.basket import Basket
from pos_core.catalogue import Product, Sku
from pos_core.sale import Sale
from store_server.db.engine import open_database
from store_server.db.models import FeedEventRow, FeedState, StockLevel
from store_server.feed_endpoint import FeedSettings
from store_server.feed_mirror import LevelKey, StockFigures
from store_server.server import StoreServer
from store_server.usecases.clock import now_iso
from store_server.usecases.store import init_store
from tests.server.support import RULES, SEED, Seed, SeedProduct, Tokens, feed_url, prepare_store, register

CATEGORIES = ("Dairy", "Household")


def many_skus(count: int, seed: int = 7) -> Seed:
    """The test store with ``count`` more products, so a snapshot spans several frames."""
    rng = random.Random(seed)
    extra = [
        SeedProduct(
            f"SKU-{n:05d}",
            f"{2000000000000 + n:013d}",
            f"Item {n}",
            CATEGORIES[n % 2],
            100 + n,
            ("reduced", "standard")[n % 2],
            rng.randint(0, 40),
        )
        for n in range(100, 100 + count)
    ]
    return replace(SEED, products=[*SEED.products, *extra])


def catalogue(seed: Seed) -> dict[str, Product]:
    return {p.sku: Product(Sku(p.sku), p.barcode, p.name, p.price, p.tax_class, p.category) for p in seed.products}


def sale_of(products: dict[str, Product], items: list[tuple[str, int]], cashier_id: str) -> dict[str, Any]:
    """A correct wire sale of ``(sku, quantity)`` lines (one line per SKU, as a register sends), paid in cash."""
    basket = Basket(RULES)
    for sku, quantity in items:
        basket.add(products[sku], quantity)
    sale = Sale.from_basket(
        basket,
        sale_id=str(uuid.uuid4()),
        register="Till 1",
        cashier_id=cashier_id,
        created_at=now_iso(),
        cash_tendered=basket.totals().total,
    )
    return sale.to_wire()


def prepare(url: str, seed: Seed) -> Tokens:
    """The store from ``seed`` (``prepare_store`` then finds it set up and only adds tokens)."""
    init_store(url, demo=False, seed=seed)
    return prepare_store(url)


@asynccontextmanager
async def feed_server(
    url: str, *, seed: Seed = SEED, heartbeat_s: float = 5.0, settings: FeedSettings | None = None
) -> AsyncIterator[tuple[StoreServer, Tokens]]:
    tokens = await asyncio.to_thread(prepare, url, seed)
    server = StoreServer(url, heartbeat_s=heartbeat_s, feed=settings)
    await server.start()
    try:
        yield server, tokens
    finally:
        await server.stop()


@asynccontextmanager
async def raw_feed(server: StoreServer, token: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A ``/feed`` connection that has sent nothing yet."""
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(feed_url(server), additional_headers=headers, **kwargs) as ws:
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any] | str) -> None:
    await ws.send(message if isinstance(message, str) else json.dumps(message))


async def recv(ws: ClientConnection, wait_s: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(wait_s):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def until(ws: ClientConnection, kind: str, wait_s: float = 5.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Frames received before the first of type ``kind``, and that frame."""
    before = []
    async with asyncio.timeout(wait_s):
        while (frame := await recv(ws, wait_s))["type"] != kind:
            before.append(frame)
    return before, frame


async def heartbeat_rounds(
    server: StoreServer, token: str, subscribe: dict[str, Any], acks: list[list[int]]
) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Subscribe, then for each heartbeat the frames that came before it; after the first
    heartbeat and each later one but the last, send the acks of ``acks`` in turn."""
    rounds = []
    async with raw_feed(server, token) as ws:
        await send(ws, subscribe)
        await recv(ws)
        rounds.append(await until(ws, "heartbeat"))
        for seqs in acks:
            for seq in seqs:
                await send(ws, {"type": "ack", "seq": seq})
            rounds.append(await until(ws, "heartbeat"))
    return rounds


async def drain(ws: ClientConnection, quiet_s: float = 0.3) -> list[dict[str, Any]]:
    """Every frame until none arrives for ``quiet_s``."""
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(await recv(ws, quiet_s))
    return frames


def db_levels(url: str) -> dict[LevelKey, StockFigures]:
    db = open_database(url)
    try:
        with db.read() as s:
            return {
                (r.sku, r.location): StockFigures(r.on_hand, r.reserved, r.safety_stock, r.available)
                for r in s.scalars(select(StockLevel))
            }
    finally:
        db.close()


def db_position(url: str) -> tuple[str, int]:
    db = open_database(url)
    try:
        with db.read() as s:
            state = s.get_one(FeedState, 1)
            return state.epoch, state.last_seq
    finally:
        db.close()


def prune_events(url: str, through_seq: int) -> None:
    """Delete stored events up to ``through_seq``, as a retention job would."""
    db = open_database(url)
    try:
        with db.write() as s:
            s.execute(delete(FeedEventRow).where(FeedEventRow.seq <= through_seq))
    finally:
        db.close()


def new_epoch(url: str) -> str:
    """What restoring a backup must do: give the feed a new epoch."""
    epoch = str(uuid.uuid4())
    db = open_database(url)
    try:
        with db.write() as s:
            s.execute(update(FeedState).values(epoch=epoch))
    finally:
        db.close()
    return epoch


@dataclass
class Lanes:
    """Registers selling random 1-3 line sales until told to stop; tracks the highest committed seq."""

    server: StoreServer
    token: str
    products: dict[str, Product]
    rng: random.Random
    committed: int = 0
    sales: int = 0
    acks_s: list[float] = field(default_factory=list)
    progressed: asyncio.Event = field(default_factory=asyncio.Event)
    finished: bool = False

    async def run(self, lanes: int, keep_going: Callable[[], bool]) -> None:
        try:
            await asyncio.gather(*(self._lane(keep_going) for _ in range(lanes)))
        finally:
            self.finished = True
            self.progressed.set()

    async def _lane(self, keep_going: Callable[[], bool]) -> None:
        skus = sorted(self.products)
        loop = asyncio.get_running_loop()
        async with register(self.server, self.token) as reg:
            cashier = await reg.login()
            while keep_going():
                items = [(sku, self.rng.randint(1, 3)) for sku in self.rng.sample(skus, self.rng.randint(1, 3))]
                started = loop.time()
                reply = await reg.submit(sale_of(self.products, items, cashier))
                self.acks_s.append(loop.time() - started)
                assert reply["type"] == "sale.accepted", reply
                self.sales += 1
                self.committed = max(self.committed, reply["seq"] + len(items))
                self.progressed.set()

    async def wait_committed(self, seq: int, wait_s: float = 20.0) -> None:
        """Until ``seq`` is committed, or the lanes have stopped selling."""
        async with asyncio.timeout(wait_s):
            while self.committed < seq and not self.finished:
                self.progressed.clear()
                await self.progressed.wait()


class CuttingProxy:
    """A TCP proxy in front of the store server that cuts each connection after a random number
    of bytes from the server (mid-frame, as a network failure would), while ``cutting`` is on.

    Args:
        upstream: the store server's port.
        rng: picks each connection's byte budget.
        budget: the range of bytes let through before the cut.
        gate: awaited before a new connection goes upstream (to let the store move on meanwhile).
    """

    def __init__(
        self,
        upstream: int,
        rng: random.Random,
        budget: tuple[int, int],
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.upstream = upstream
        self.rng = rng
        self.budget = budget
        self.gate = gate
        self.cutting = True
        self.cuts = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cutting and self.gate is not None:
            await self.gate()
        budget = self.rng.randint(*self.budget) if self.cutting else None
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        ends = (writer, up_writer)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer, None, ends)),
            asyncio.create_task(self._pipe(up_reader, writer, budget, ends)),
        ]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)  # a reset connection ends a pipe: expected
        for end in ends:
            end.transport.abort()

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        budget: int | None,
        ends: tuple[asyncio.StreamWriter, ...],
    ) -> None:
        """Copy until the end, or until ``budget`` bytes have passed while cutting; errors end it too."""
        while data := await source.read(4096):
            if budget is not None and self.cutting and len(data) >= budget:
                sink.write(data[:budget])
                await sink.drain()
                self.cuts += 1
                for end in ends:
                    end.transport.abort()
                return
            if budget is not None:
                budget -= len(data)
            sink.write(data)
            await sink.drain()
