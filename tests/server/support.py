"""Test data and clients for the store server tests: a tiny store, sales, a register."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.sale import Sale
from pos_core.tax import TaxClass, tax_included
from pos_core.weight import SoldBy
from store_server.db.engine import Database, open_database
from store_server.db.models import FeedEventRow, SaleRow, StockMovement
from store_server.feed_endpoint import FeedSettings
from store_server.server import StoreServer
from store_server.usecases.cashiers import list_cashiers
from store_server.usecases.clock import now_iso
from store_server.usecases.credentials import issue_token
from store_server.usecases.store import init_store

T = TypeVar("T")
PIN = "2468"
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES, name="db")
def prepared_db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A prepared store (``prepare_store``) open on SQLite, then on PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    prepare_store(url)
    database = open_database(url)
    yield database
    database.close()


@dataclass(frozen=True)
class SeedProduct:
    sku: str
    barcode: str
    name: str
    category: str
    price: int
    tax_class: str
    on_hand: int
    sold_by: SoldBy = "each"
    tare_grams: int = 0


@dataclass(frozen=True)
class Seed:
    name: str = "Test Corner Shop"
    currency: str = "EUR"
    prices_include_tax: bool = True
    address_lines: tuple[str, ...] = ("1 Test Street", "Kiel")
    tax_classes: list[tuple[str, str, int]] = field(
        default_factory=lambda: [("reduced", "Reduced rate", 70_000), ("standard", "Standard rate", 190_000)]
    )
    categories: list[str] = field(default_factory=lambda: ["Dairy", "Household"])
    products: list[SeedProduct] = field(
        default_factory=lambda: [
            SeedProduct("SKU-0001", "4000000000017", "Oat milk 1 l", "Dairy", 189, "reduced", 10),
            SeedProduct("SKU-0002", "4000000000024", "Butter 250 g", "Dairy", 249, "reduced", 5),
            SeedProduct("SKU-0003", "4000000000031", "Dish soap", "Household", 399, "standard", 3),
            SeedProduct("SKU-0004", "4000000000048", "Sponges 3 pack", "Household", 150, "standard", 0),
        ]
    )
    cashiers: list[tuple[str, str]] = field(default_factory=lambda: [("Alex", PIN), ("Sam", "1357")])


SEED = Seed()
RULES = TaxRules("EUR", {c: TaxClass(c, n, r) for c, n, r in SEED.tax_classes}, prices_include_tax=True)
PRODUCTS = {
    p.sku: Product(Sku(p.sku), p.barcode, p.name, p.price, p.tax_class, p.category, p.sold_by) for p in SEED.products
}


@contextmanager
def held_by_a_child(take: str, what: str) -> Iterator[subprocess.Popen[str]]:
    """A child process that runs ``take`` (a statement using ``sys.argv[1]``, which is ``what``),
    then holds what it took until this block ends and SIGKILLs it: no orderly exit."""
    script = f"import sys\n{take}\nprint('held', flush=True)\nsys.stdin.read()\n"
    holder = subprocess.Popen(
        [sys.executable, "-c", script, what],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a test coroutine (the suite has no pytest-asyncio)."""
    return asyncio.run(asyncio.wait_for(coro, 60))


async def in_one_group(db: Database, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``(fn, *args)`` write requests in one group; their results or exceptions, in order."""
    gate, entered = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        gate.wait(10)

    held = asyncio.ensure_future(db.run(hold))
    assert await asyncio.to_thread(entered.wait, 10), "the database thread never took the gate"
    before = db.writer.groups
    futures = [asyncio.ensure_future(db.run_write(fn, *args)) for fn, *args in calls]
    for _ in range(1000):  # let each request reach the writer's queue behind the gate
        if db.writer.queued() >= len(calls):
            break
        await asyncio.sleep(0)
    assert db.writer.queued() == len(calls)
    gate.set()
    await held
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert db.writer.groups == before + 1, "the requests were meant to share one commit"
    return results


def make_sale(items: Sequence[tuple[str, int]], *, cashier_id: str = "c", sale_id: str | None = None) -> dict[str, Any]:
    """A correct wire sale for ``(sku, quantity)`` items, paid in exact cash."""
    basket = Basket(RULES)
    for sku, quantity in items:
        basket.add(PRODUCTS[sku], quantity)
    total = basket.totals().total
    sale = Sale.from_basket(
        basket,
        sale_id=sale_id or str(uuid.uuid4()),
        register="Till 1",
        cashier_id=cashier_id,
        created_at=now_iso(),
        cash_tendered=total,
    )
    return sale.to_wire()


def make_long_sale(lines: int, *, cashier_id: str = "c") -> dict[str, Any]:
    """A correct wire sale of ``lines`` separate lines of one oat milk each (a big frame)."""
    price = PRODUCTS["SKU-0001"].price
    amount = price * lines
    tax = tax_included(amount, 70_000)
    line = {
        "sku": "SKU-0001",
        "name": "Oat milk 1 l",
        "quantity": 1,
        "unit_price": price,
        "amount": price,
        "tax_class": "reduced",
        "tax_rate_ppm": 70_000,
    }
    return {
        "id": str(uuid.uuid4()),
        "register": "Till 1",
        "cashier_id": cashier_id,
        "created_at": now_iso(),
        "currency": "EUR",
        "prices_include_tax": True,
        "lines": [line] * lines,
        "taxes": [{"code": "reduced", "rate_ppm": 70_000, "taxable": amount, "tax": tax}],
        "subtotal": amount,
        "tax_total": tax,
        "total": amount,
        "tenders": [{"kind": "cash", "amount": amount}],
        "change": 0,
    }


@dataclass
class Tokens:
    register: str
    storefront: str


def prepare_store(url: str) -> Tokens:
    """Set up the test store at ``url`` and issue one token of each kind."""
    init_store(url, demo=False, seed=SEED)
    db = open_database(url)
    try:
        with db.write() as session:
            return Tokens(issue_token(session, "register", "Till 1"), issue_token(session, "storefront", "Shop"))
    finally:
        db.close()


@asynccontextmanager
async def running_server(
    url: str, *, heartbeat_s: float = 5.0, writer_process: bool = False, feed: FeedSettings | None = None
) -> AsyncIterator[tuple[StoreServer, Tokens]]:
    tokens = await asyncio.to_thread(prepare_store, url)
    server = StoreServer(url, heartbeat_s=heartbeat_s, writer_process=writer_process, feed=feed)
    await server.start()
    try:
        yield server, tokens
    finally:
        await server.stop()


class Register:
    """A bare register client speaking the wire protocol."""

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self._n = 0

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self._n += 1
        message = {"req": f"r{self._n}", **message}
        await self.ws.send(json.dumps(message))
        reply: dict[str, Any] = json.loads(await self.ws.recv())
        assert reply.get("req") == message["req"]
        return reply

    async def send_raw(self, frame: str) -> dict[str, Any]:
        await self.ws.send(frame)
        reply: dict[str, Any] = json.loads(await self.ws.recv())
        return reply

    async def login(self, name: str = "Alex", pin: str = PIN) -> str:
        cashiers = (await self.request({"type": "cashiers.list"}))["cashiers"]
        cashier_id: str = next(c["id"] for c in cashiers if c["name"] == name)
        reply = await self.request({"type": "cashier.login", "cashier_id": cashier_id, "pin": pin})
        assert reply["type"] == "cashier.login", reply
        return cashier_id

    async def submit(self, sale: dict[str, Any]) -> dict[str, Any]:
        return await self.request({"type": "sale.submit", "sale": sale})


@asynccontextmanager
async def register(server: StoreServer, token: str, **kwargs: Any) -> AsyncIterator[Register]:
    url = f"ws://127.0.0.1:{server.port}/register"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, **kwargs) as ws:
        welcome = json.loads(await ws.recv())
        yield Register(ws, welcome)


def feed_url(server: StoreServer) -> str:
    return f"ws://127.0.0.1:{server.port}/feed"


@asynccontextmanager
async def feed(server: StoreServer, token: str, since: int = 0, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with connect(feed_url(server), additional_headers={"Authorization": f"Bearer {token}"}, **kwargs) as ws:
        await ws.send(json.dumps({"type": "subscribe", "since": since}))
        yield ws


async def next_frame(ws: ClientConnection, wait_s: float = 5.0) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return frame


def counts(url: str) -> dict[str, int]:
    """How many sales, movements and feed events the database holds."""
    db = open_database(url)
    try:
        with db.read() as s:
            return {
                "sales": s.scalar(select(func.count()).select_from(SaleRow)) or 0,
                "movements": s.scalar(select(func.count()).select_from(StockMovement)) or 0,
                "events": s.scalar(select(func.count()).select_from(FeedEventRow)) or 0,
            }
    finally:
        db.close()


def cashier_ids(url: str) -> dict[str, str]:
    db = open_database(url)
    try:
        with db.read() as s:
            return {c.name: c.id for c in list_cashiers(s)}
    finally:
        db.close()
