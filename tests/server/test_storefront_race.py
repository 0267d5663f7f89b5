"""Storefront clients and till lanes race over real sockets for the last units of a product, on
SQLite and PostgreSQL: the storefronts get exactly the units that were free, never more; no till
sale is refused; a sale that leaves promised goods uncovered opens an exception for a manager and
tells the storefront at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from store_server.db.engine import open_database
from store_server.db.models import StockLevel
from store_server.usecases.stock import ledger_level
from store_server.usecases.stock_exceptions import open_exceptions
from tests.server.feed_support import db_position
from tests.server.inventory_support import DATABASES, shop_url
from tests.server.storefront_support import FeedWatch, rid, storefront, storefront_server, watch_feed
from tests.server.support import make_sale, register, run

SKU = "SKU-0001"  # oat milk: 10 on hand, no safety stock
ON_HAND = 10
STOREFRONTS = 10
LANES = 4
SALES_PER_LANE = 2
SOLD = LANES * SALES_PER_LANE


async def _storefront_client(server: Any, token: str, n: int, start: asyncio.Barrier) -> list[int]:
    """Hold one unit at a time, by reservation or by pickup order, until the store says there is none."""
    got: list[int] = []
    async with storefront(server, token) as sf:
        await start.wait()
        while True:
            if n % 2:
                reply = await sf.place((SKU, 1), request_id=rid())
                assert reply["type"] == "order", reply  # an order is never refused for lack of stock
                held = reply["order"]["lines"][0]["reserved"]
            else:
                reply = await sf.reserve((SKU, 1))
                if reply["type"] == "error":
                    assert reply["code"] == "insufficient_stock", reply
                    assert reply["short"] == [{"sku": SKU, "requested": 1, "available": 0}]
                held = 0 if reply["type"] == "error" else reply["reservation"]["lines"][0]["quantity"]
            if not held:
                return got
            got.append(held)


async def _lane(
    server: Any, token: str, start: asyncio.Barrier | None, quantity: int = 1, sales: int = 1
) -> list[dict[str, Any]]:
    """Sell ``quantity`` units, ``sales`` times, as a till does: the goods are in the customer's hand."""
    async with register(server, token) as till:
        cashier = await till.login()
        if start is not None:
            await start.wait()
        return [await till.submit(make_sale([(SKU, quantity)], cashier_id=cashier)) for _ in range(sales)]


def _store_figures(url: str) -> tuple[tuple[int, int, int], tuple[int, int, int], list[dict[str, Any]]]:
    """The level row, the level as the sum of its movements, and the open exceptions."""
    db = open_database(url)
    try:
        with db.read() as s:
            row = s.get_one(StockLevel, (SKU, "main"))
            ledger = ledger_level(s, SKU, "main")
            exceptions = open_exceptions(s, SKU)
            return (
                (row.on_hand, row.reserved, row.safety_stock),
                (ledger.on_hand, ledger.reserved, ledger.safety_stock),
                exceptions,
            )
    finally:
        db.close()


async def _read_all(feed: FeedWatch, url: str) -> list[dict[str, Any]]:
    _, latest = await asyncio.to_thread(db_position, url)
    return await feed.through(latest, wait_s=15)


@pytest.mark.parametrize("writer", ["thread", "process"])
@pytest.mark.parametrize("kind", DATABASES)
def test_storefronts_and_lanes_race_for_the_last_units(request: pytest.FixtureRequest, kind: str, writer: str) -> None:
    """On both databases, with the server writing from a thread of its own process or from a
    writer process (``pos store serve``'s default)."""
    url = shop_url(request, kind)

    async def scenario() -> None:
        serving = storefront_server(url, writer_process=writer == "process")
        async with serving as (server, tokens), watch_feed(server, tokens.storefront) as feed:
            start = asyncio.Barrier(STOREFRONTS + LANES)  # all connected and logged in, then all at once
            clients = [
                asyncio.create_task(_storefront_client(server, tokens.storefront, n, start)) for n in range(STOREFRONTS)
            ]
            lanes = [
                asyncio.create_task(_lane(server, tokens.register, start, sales=SALES_PER_LANE)) for _ in range(LANES)
            ]
            holds = await asyncio.gather(*clients)
            sales = [sale for lane in await asyncio.gather(*lanes) for sale in lane]
            assert [s["type"] for s in sales] == ["sale.accepted"] * SOLD  # a till is never refused

            granted = sum(sum(h) for h in holds)
            level, ledger, _ = await asyncio.to_thread(_store_figures, url)
            assert level == ledger  # the sum of movements is the level
            assert level == (ON_HAND - SOLD, granted, 0)
            assert granted <= ON_HAND
            assert level[0] - level[1] <= 0, "a unit stayed free although every storefront asked until refused"

            # Over the socket, the feed shows no grant ever took more than was free at that moment.
            events = await _read_all(feed, url)
            changes = [e["data"] for e in events if e["event"] == "stock.changed" and e["data"]["sku"] == SKU]
            grants = [d for d in changes if d["movement"]["reason"] == "reservation"]
            assert len(grants) == granted
            assert all(d["available"] >= 0 for d in grants), grants
            assert sum(d["movement"]["quantity"] for d in changes if d["movement"]["reason"] == "sale") == SOLD

            # A till sells the rest off the shelf: accepted, and every promised unit is now at risk.
            (last,) = await _lane(server, tokens.register, None, quantity=ON_HAND - SOLD)
            assert last["type"] == "sale.accepted", last
            level, ledger, exceptions = await asyncio.to_thread(_store_figures, url)
            assert level == ledger == (0, granted, 0)
            at_risk = [e["data"] for e in await _read_all(feed, url) if e["event"] == "reservation.at_risk"]
            assert at_risk, "the storefront must hear at once that promised goods were sold"
            assert (at_risk[-1]["sku"], at_risk[-1]["shortfall"], at_risk[-1]["document_id"]) == (
                SKU,
                granted,
                last["sale_id"],
            )
            assert sum(r["quantity"] for r in at_risk[-1]["reservations"]) == granted
            assert at_risk[-1]["exception_id"] in {e["exception_id"] for e in exceptions}

    run(scenario())
