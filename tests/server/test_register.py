"""The /register endpoint: welcome, catalogue, cashiers, and sales exactly once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from pos_core.protocol import MAX_MESSAGE_BYTES
from store_server.db.engine import open_database
from store_server.db.models import Cashier, StockLevel
from store_server.usecases.cashiers import pin_matches
from store_server.usecases.products import create_tax_class
from tests.server.support import PIN, counts, feed, make_sale, register, run, running_server


def on_hand(url: str, sku: str) -> int:
    db = open_database(url)
    try:
        with db.read() as s:
            level = s.get(StockLevel, (sku, "main"))
            return level.on_hand if level else 0
    finally:
        db.close()


def test_welcome_describes_the_store(sqlite_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            return reg.welcome

    welcome = run(scenario())
    assert welcome["protocol"] == 1
    assert welcome["store"]["name"] == "Test Corner Shop"
    assert welcome["store"]["currency"] == "EUR"
    assert welcome["store"]["address_lines"] == ["1 Test Street", "Kiel"]
    assert welcome["tax_classes"] == [
        {"code": "reduced", "name": "Reduced rate", "rate_ppm": 70_000},
        {"code": "standard", "name": "Standard rate", "rate_ppm": 190_000},
    ]


def test_a_tax_class_added_while_the_store_serves_reaches_registers_that_connect_after(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as before:
            await asyncio.to_thread(_add_tax_class, sqlite_url)
            async with register(server, tokens.register) as after:
                return before.welcome, after.welcome

    before, after = run(scenario())
    assert [t["code"] for t in before["tax_classes"]] == ["reduced", "standard"]
    assert {"code": "zero", "name": "Zero rate", "rate_ppm": 0} in after["tax_classes"]


def _add_tax_class(url: str) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            create_tax_class(session, "zero", "Zero rate", 0)
    finally:
        db.close()


def test_registers_are_not_compressed_and_the_storefront_feed_is(sqlite_url: str) -> None:
    """Both clients offer permessage-deflate (websockets does by default); only the feed,
    which crosses the internet and carries snapshots, takes it."""

    async def scenario() -> tuple[list[str], list[str]]:
        async with (
            running_server(sqlite_url) as (server, tokens),
            register(server, tokens.register) as reg,
            feed(server, tokens.storefront) as ws,
        ):
            return [e.name for e in reg.ws.protocol.extensions], [e.name for e in ws.protocol.extensions]

    lane, storefront = run(scenario())
    assert lane == []
    assert storefront == ["permessage-deflate"]


def test_catalogue_pages_in_sku_order(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            pages = []
            after = ""
            while True:
                page = await reg.request({"type": "catalogue.page", "after": after, "limit": 3})
                pages.append(page)
                if page["next"] is None:
                    return pages
                after = page["next"]

    pages = run(scenario())
    assert [len(p["products"]) for p in pages] == [3, 1]
    skus = [p["sku"] for page in pages for p in page["products"]]
    assert skus == ["SKU-0001", "SKU-0002", "SKU-0003", "SKU-0004"]
    assert pages[0]["products"][0] == {
        "sku": "SKU-0001",
        "barcode": "4000000000017",
        "name": "Oat milk 1 l",
        "price": 189,
        "tax_class": "reduced",
        "category": "Dairy",
        "sold_by": "each",
        "tare_grams": 0,
    }


def test_cashier_login_checks_the_pin(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            listed = await reg.request({"type": "cashiers.list"})
            alex = next(c["id"] for c in listed["cashiers"] if c["name"] == "Alex")
            return [
                listed,
                await reg.request({"type": "cashier.login", "cashier_id": alex, "pin": "0000"}),
                await reg.request({"type": "cashier.login", "cashier_id": "nobody", "pin": PIN}),
                await reg.request({"type": "cashier.login", "cashier_id": alex, "pin": PIN}),
            ]

    listed, wrong, unknown, ok = run(scenario())
    assert [c["name"] for c in listed["cashiers"]] == ["Alex", "Sam"]
    assert [c["role"] for c in listed["cashiers"]] == ["cashier", "cashier"]  # the seed makes no manager
    assert set(listed["cashiers"][0]) == {"id", "name", "role"}, "never a PIN's hash"
    assert (wrong["type"], wrong["code"]) == ("error", "wrong_pin")
    assert (unknown["type"], unknown["code"]) == ("error", "unknown_cashier")
    assert ok["cashier"]["name"] == "Alex"


def test_pins_are_not_stored(sqlite_url: str) -> None:
    run(_start_and_stop(sqlite_url))
    db = open_database(sqlite_url)
    with db.read() as s:
        hashes = list(s.scalars(select(Cashier.pin_hash)))
    db.close()
    assert len(hashes) == 2
    assert all(h.startswith("scrypt$") for h in hashes)
    assert sorted(pin_matches(PIN, h) for h in hashes) == [False, True]


async def _start_and_stop(url: str) -> None:
    async with running_server(url):
        pass


def test_sale_is_accepted_once_and_moves_stock(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            cashier = await reg.login()
            sale = make_sale([("SKU-0001", 2), ("SKU-0003", 1)], cashier_id=cashier)
            first = await reg.submit(sale)
            again = await reg.submit(sale)
            changed = {**sale, "register": "Till 2"}
            conflict = await reg.submit(changed)
            return [sale, first, again, conflict]

    sale, first, again, conflict = run(scenario())
    assert first == {"type": "sale.accepted", "req": first["req"], "sale_id": sale["id"], "seq": 1, "duplicate": False}
    assert (again["seq"], again["duplicate"]) == (1, True)
    assert conflict["code"] == "idempotency_conflict"
    assert counts(sqlite_url) == {"sales": 1, "movements": 3 + 2, "events": 3}  # 3 opening receipts
    assert on_hand(sqlite_url, "SKU-0001") == 8
    assert on_hand(sqlite_url, "SKU-0003") == 2


def test_sale_beyond_stock_is_accepted_and_goes_negative(sqlite_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            cashier = await reg.login()
            return await reg.submit(make_sale([("SKU-0004", 2)], cashier_id=cashier))

    assert run(scenario())["type"] == "sale.accepted"
    assert on_hand(sqlite_url, "SKU-0004") == -2


def _bad_sales() -> list[tuple[str, Any, str]]:
    good = make_sale([("SKU-0001", 1)])
    wrong_total = {**good, "total": good["total"] + 1}
    unknown_sku = json.loads(json.dumps(good).replace("SKU-0001", "SKU-9999"))
    other_currency = json.loads(json.dumps(good).replace('"EUR"', '"USD"'))
    return [
        ("wrong total", wrong_total, "invalid_sale"),
        ("not an object", "sale", "invalid_sale"),
        ("unknown sku", unknown_sku, "unknown_sku"),
        ("other currency", other_currency, "invalid_sale"),
        ("id with a final newline", {**good, "id": good["id"] + "\n"}, "invalid_sale"),
    ]


@pytest.mark.parametrize(("label", "sale", "code"), _bad_sales(), ids=[b[0] for b in _bad_sales()])
def test_refused_sales_write_nothing(sqlite_url: str, label: str, sale: Any, code: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            cashier = await reg.login()
            refused = await reg.submit({**sale, "cashier_id": cashier} if isinstance(sale, dict) else sale)
            still_open = await reg.request({"type": "cashiers.list"})
            return refused, still_open

    refused, still_open = run(scenario())
    assert (refused["type"], refused["code"]) == ("error", code), label
    assert refused["message"].endswith(".")
    assert still_open["type"] == "cashiers.list"
    assert counts(sqlite_url) == {"sales": 0, "movements": 3, "events": 0}


def test_a_sale_must_be_made_by_the_cashier_logged_in(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            alex = await reg.login("Alex")
            sam = (await reg.request({"type": "cashiers.list"}))["cashiers"][1]["id"]
            assert sam != alex
            as_sam = await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=sam))
            as_alex = await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=alex))
            return as_sam, as_alex

    as_sam, as_alex = run(scenario())
    assert (as_sam["type"], as_sam["code"]) == ("error", "wrong_cashier")
    assert "Alex" in as_sam["message"]
    assert as_sam["message"].endswith(".")
    assert as_alex["type"] == "sale.accepted"
    assert counts(sqlite_url)["sales"] == 1


def test_sale_needs_a_logged_in_cashier(sqlite_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            return await reg.submit(make_sale([("SKU-0001", 1)]))

    assert run(scenario())["code"] == "not_logged_in"
    assert counts(sqlite_url)["sales"] == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"req": "x"}', "bad_message"),
        ('{"type": "teleport", "req": "x"}', "unknown_type"),
        ('{"type": "catalogue.page", "req": "x", "limit": 0}', "bad_message"),
        ('{"type": "cashier.login", "req": "x", "cashier_id": 5, "pin": "1"}', "bad_message"),
    ],
)
def test_malformed_requests_get_errors_and_the_connection_stays_open(sqlite_url: str, frame: str, code: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            error = await reg.send_raw(frame)
            return error, await reg.request({"type": "cashiers.list"})

    error, after = run(scenario())
    assert (error["type"], error["code"]) == ("error", code)
    assert after["type"] == "cashiers.list"


def test_oversize_frame_closes_with_1009(sqlite_url: str) -> None:
    async def scenario() -> int | None:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            await reg.ws.send(json.dumps({"type": "cashiers.list", "pad": "x" * MAX_MESSAGE_BYTES}))
            with pytest.raises(ConnectionClosed) as info:
                await reg.ws.recv()
            return info.value.rcvd.code if info.value.rcvd else None

    assert run(scenario()) == 1009
