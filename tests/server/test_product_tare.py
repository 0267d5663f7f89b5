"""A weighed product's preset tare: stored, paged to registers, carried by the sale to the feed, and
checked on import (a bad tare is one sentence and nothing is written)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from pos_core.basket import Basket
from pos_core.catalogue import Product
from pos_core.sale import Sale
from store_server.db.engine import open_database
from store_server.db.models import Category, FeedEventRow, ProductRow, StockLevel, StockMovement
from store_server.errors import ProductRefused, StoreError
from store_server.usecases.catalogue import add_product
from store_server.usecases.catalogue_import import ImportedProduct, import_products
from store_server.usecases.clock import now_iso
from store_server.usecases.store import init_store
from tests.server.support import RULES, SEED, SeedProduct, register, run, running_server

OLIVES = SeedProduct(
    "SKU-0005", "2100007000008", "Mixed olives (deli tub)", "Deli", 1990, "reduced", 4000, "weight", 12
)


def test_a_tared_product_is_paged_with_its_tare_and_its_sale_reaches_the_feed_net(sqlite_url: str) -> None:
    init_store(sqlite_url, demo=False, seed=replace(SEED, products=[*SEED.products, OLIVES]))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            page = await reg.request({"type": "catalogue.page", "after": "SKU-0004", "limit": 10})
            olives = Product.from_wire(page["products"][0])
            basket = Basket(RULES)
            basket.add(olives, 534)  # net: the scale took the 12 g tub off
            sale = Sale.from_basket(
                basket, sale_id=str(uuid.uuid4()), register="Till 1", cashier_id=await reg.login(),
                created_at=now_iso(), cash_tendered=1100,
            )  # fmt: skip
            return page, await reg.submit(sale.to_wire())

    page, accepted = run(scenario())
    assert page["products"][0]["tare_grams"] == 12
    assert accepted["type"] == "sale.accepted", accepted
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            completed = s.scalars(select(FeedEventRow.payload).where(FeedEventRow.type == "sale.completed")).one()
    finally:
        db.close()
    line = json.loads(completed)["lines"][0]
    assert (line["quantity"], line["tare_grams"], line["amount"]) == (534, 12, 1063)


def _counts(url: str) -> tuple[int, ...]:
    db = open_database(url)
    try:
        with db.read() as s:
            return tuple(
                s.scalar(select(func.count()).select_from(table)) or 0
                for table in (ProductRow, Category, StockMovement, StockLevel)
            )
    finally:
        db.close()


def _imported(sku: str, sold_by: Any = "weight", tare: Any = 0) -> ImportedProduct:
    return ImportedProduct(sku, None, f"Tub {sku}", "Deli", 1990, "reduced", 500, sold_by, tare)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (
            _imported("I-3", "each", 12),
            "Nothing was imported: product 3 (I-3): only a product sold by weight has a tare",
        ),
        (_imported("I-3", tare=-5), "Nothing was imported: product 3 (I-3): a tare must be a whole number of grams"),
        (_imported("I-3", tare=20_000), "from 0 to 2,000, not 20000."),
        (_imported("I-3", tare=1.5), "not 1.5."),
    ],
)
def test_an_import_with_a_bad_tare_writes_nothing_and_says_which_product(
    sqlite_url: str, bad: ImportedProduct, said: str
) -> None:
    init_store(sqlite_url, demo=False, seed=SEED)
    before = _counts(sqlite_url)
    db = open_database(sqlite_url)
    try:
        with pytest.raises(ProductRefused, match=said.replace("(", r"\(").replace(")", r"\)")), db.write() as s:
            import_products(s, [_imported("I-1", tare=12), _imported("I-2", "each"), bad])
    finally:
        db.close()
    assert _counts(sqlite_url) == before


def test_an_import_keeps_good_tares(sqlite_url: str) -> None:
    init_store(sqlite_url, demo=False, seed=SEED)
    db = open_database(sqlite_url)
    try:
        with db.write() as s:
            import_products(s, [_imported("I-1", tare=12), _imported("I-2", "each")])
        with db.read() as s:
            rows = s.execute(select(ProductRow.sku, ProductRow.tare_grams).where(ProductRow.sku.like("I-%")))
            tares = {str(row[0]): int(row[1]) for row in rows.all()}
    finally:
        db.close()
    assert tares == {"I-1": 12, "I-2": 0}


def test_adding_a_product_with_a_tare_but_sold_each_is_refused(sqlite_url: str) -> None:
    init_store(sqlite_url, demo=False, seed=SEED)
    db = open_database(sqlite_url)
    try:
        with pytest.raises(StoreError, match="X-1: Only a product sold by weight has a tare"), db.write() as s:
            add_product(s, sku="X-1", barcode=None, name="Soap", category=None, price=100, tax_class="reduced",
                        tare_grams=12)  # fmt: skip
    finally:
        db.close()
