"""``catalogue.changes`` on /register: a running register hears of price and product changes
without reading the whole catalogue again."""

from __future__ import annotations

import asyncio
from typing import Any

from store_server.db.engine import open_database
from store_server.usecases.products import ChangeProduct, change_product
from tests.server.storefront_support import rid
from tests.server.support import register, run, running_server


def _change(url: str, **fields: Any) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            change_product(session, ChangeProduct(rid(), "staff:ann", **fields))
    finally:
        db.close()


def test_a_register_hears_of_changed_and_withdrawn_products_since_it_read_them(sqlite_url: str) -> None:
    async def scenario() -> dict[str, dict[str, Any]]:
        got: dict[str, dict[str, Any]] = {}
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            got["mark"] = await reg.request({"type": "catalogue.changes"})  # before reading the pages
            mark, epoch = got["mark"]["next"], got["mark"]["epoch"]
            await asyncio.to_thread(_change, sqlite_url, sku="SKU-0001", price=111)
            await asyncio.to_thread(_change, sqlite_url, sku="SKU-0002", active=False)
            await asyncio.to_thread(_change, sqlite_url, sku="SKU-0001", name="Oat milk, big")
            got["changes"] = await reg.request({"type": "catalogue.changes", "after": mark, "epoch": epoch})
            after = got["changes"]["next"]
            got["none"] = await reg.request({"type": "catalogue.changes", "after": after, "epoch": epoch})
            got["epoch"] = await reg.request({"type": "catalogue.changes", "after": after, "epoch": "restored"})
            got["ahead"] = await reg.request({"type": "catalogue.changes", "after": after + 1000})
            got["bad"] = await reg.request({"type": "catalogue.changes", "after": "0"})
            got["page"] = await reg.request({"type": "catalogue.page", "after": "", "limit": 10})
        return got

    got = run(scenario())
    assert (got["mark"]["products"], got["mark"]["removed"], got["mark"]["reload"]) == ([], [], False)
    changes = got["changes"]
    assert changes["next"] == got["mark"]["next"] + 3
    assert changes["removed"] == ["SKU-0002"]
    [soap] = changes["products"]  # its latest state, once
    assert (soap["sku"], soap["price"], soap["name"]) == ("SKU-0001", 111, "Oat milk, big")
    assert soap == next(p for p in got["page"]["products"] if p["sku"] == "SKU-0001")  # as a page has it
    assert (got["none"]["products"], got["none"]["removed"], got["none"]["next"]) == ([], [], changes["next"])
    assert got["epoch"]["reload"] is True
    assert got["ahead"]["reload"] is True
    assert (got["bad"]["type"], got["bad"]["code"]) == ("error", "bad_message")
