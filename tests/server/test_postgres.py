"""The same server path on PostgreSQL: sales, idempotency, feed order, ledger."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from store_server.db.engine import open_database
from store_server.db.models import StockLevel
from store_server.usecases.stock import ledger_on_hand
from tests.server.support import counts, feed, make_sale, next_frame, register, run, running_server

pytestmark = pytest.mark.postgres


def test_sales_and_feed_on_postgresql(pg_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(pg_url) as (server, tokens), feed(server, tokens.storefront) as ws:
            assert (await next_frame(ws))["type"] == "subscribed"
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                sale = make_sale([("SKU-0001", 3), ("SKU-0003", 1)], cashier_id=cashier)
                first = await reg.submit(sale)
                again = await reg.submit(sale)
                conflict = await reg.submit({**sale, "register": "Till 9"})
                stranger = make_sale([("SKU-0002", 1)], cashier_id=cashier)
                stranger["lines"][0]["sku"] = "NOPE"
                unknown = await reg.submit(stranger)
                second = await reg.submit(make_sale([("SKU-0004", 2)], cashier_id=cashier))
            events = [await next_frame(ws) for _ in range(5)]
            return {
                "first": first,
                "again": again,
                "conflict": conflict,
                "second": second,
                "events": events,
                "unknown": unknown,
            }

    got = run(scenario())
    assert (got["first"]["seq"], got["first"]["duplicate"]) == (1, False)
    assert (got["again"]["seq"], got["again"]["duplicate"]) == (1, True)
    assert got["conflict"]["code"] == "idempotency_conflict"
    assert got["unknown"]["code"] == "unknown_sku"
    assert got["second"]["seq"] == 4
    assert [e["seq"] for e in got["events"]] == [1, 2, 3, 4, 5]
    assert [e["event"] for e in got["events"]] == [
        "sale.completed",
        "stock.changed",
        "stock.changed",
        "sale.completed",
        "stock.changed",
    ]
    assert got["events"][4]["data"]["on_hand"] == -2
    assert counts(pg_url) == {"sales": 2, "movements": 3 + 3, "events": 5}
    db = open_database(pg_url)
    try:
        with db.read() as s:
            for level in s.scalars(select(StockLevel)):
                assert ledger_on_hand(s, level.sku) == level.on_hand
    finally:
        db.close()
