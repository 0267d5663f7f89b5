"""A register sells loose produce by weight and takes a card: the store keeps grams and the card's
receipt details, and tells the storefront both."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from pos_core.basket import Basket
from pos_core.catalogue import Product, Sku
from pos_core.sale import Sale
from pos_core.tender import Tender
from pos_core.weight import SoldBy
from store_server.db.engine import open_database
from store_server.db.models import FeedEventRow, SaleLineRow, SaleTenderRow, StockMovement
from store_server.usecases.clock import now_iso
from store_server.usecases.store import init_store
from tests.server.support import PRODUCTS, RULES, SEED, SeedProduct, register, run, running_server
from tests.server.test_register import on_hand

APPLES = SeedProduct("SKU-0005", "2100001000004", "Apples loose", "Dairy", 249, "reduced", 5000, "weight")
INTENT = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _sale(cashier_id: str, *, grams: int = 534) -> dict[str, Any]:
    basket = Basket(RULES)
    basket.add(Product(Sku(APPLES.sku), APPLES.barcode, APPLES.name, APPLES.price, "reduced", sold_by="weight"), grams)
    basket.add(PRODUCTS["SKU-0001"], 2)
    total = basket.totals().total
    card = Tender.card(total - 100, INTENT, "SA0001", "VISA", "4727")
    sale = Sale.from_basket(
        basket, sale_id=str(uuid.uuid4()), register="Till 1", cashier_id=cashier_id,
        created_at=now_iso(), cash_tendered=200, card=card,
    )  # fmt: skip
    return sale.to_wire()


def _with_apples(url: str) -> None:
    init_store(url, demo=False, seed=replace(SEED, products=[*SEED.products, APPLES]))


def test_a_weighed_line_and_a_split_card_tender_are_stored_and_reach_the_feed(sqlite_url: str) -> None:
    _with_apples(sqlite_url)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            page = await reg.request({"type": "catalogue.page", "after": "SKU-0004", "limit": 10})
            sale = _sale(await reg.login())
            return page, sale, await reg.submit(sale)

    page, sale, accepted = run(scenario())
    assert page["products"][0]["sold_by"] == "weight"
    assert accepted["type"] == "sale.accepted", accepted
    assert on_hand(sqlite_url, "SKU-0005") == 5000 - 534, "stock of a weighed product is kept in grams"
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            lines = [(r.sku, r.quantity, r.amount, r.sold_by) for r in s.scalars(select(SaleLineRow))]
            tenders = [
                (t.kind, t.amount, t.reference, t.auth_code, t.card_brand, t.last4)
                for t in s.scalars(select(SaleTenderRow).order_by(SaleTenderRow.tender_no))
            ]
            moved = s.scalar(select(StockMovement.quantity).where(StockMovement.document_id == sale["id"]).limit(1))
            completed = s.scalars(select(FeedEventRow.payload).where(FeedEventRow.type == "sale.completed")).one()
    finally:
        db.close()
    assert lines == [("SKU-0005", 534, 133, "weight"), ("SKU-0001", 2, 378, "each")]
    card_amount = 133 + 378 - 100
    assert tenders == [("card", card_amount, INTENT, "SA0001", "VISA", "4727"), ("cash", 200, None, None, None, None)]
    assert moved == 534
    event = json.loads(completed)
    assert event["lines"][0]["sold_by"] == "weight"
    assert "sold_by" not in event["lines"][1]
    assert event["tenders"] == [
        {"kind": "card", "amount": card_amount, "reference": INTENT, "auth_code": "SA0001", "card_brand": "VISA",
         "last4": "4727"},
        {"kind": "cash", "amount": 200},
    ]  # fmt: skip
    assert event["change"] == 100


@pytest.mark.parametrize(
    ("seed", "sold_by", "quantity", "said"),
    [
        (APPLES, "each", 1, "sells SKU-0005 by the piece, but the store sells it by weight"),
        (SEED.products[0], "weight", 750, "sells SKU-0001 by weight, but the store sells it by the piece"),
    ],
)
def test_a_line_in_the_wrong_unit_is_refused_naming_the_line(
    sqlite_url: str, seed: SeedProduct, sold_by: SoldBy, quantity: int, said: str
) -> None:
    _with_apples(sqlite_url)
    stale = Product(Sku(seed.sku), seed.barcode, seed.name, seed.price, seed.tax_class, sold_by=sold_by)

    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens), register(server, tokens.register) as reg:
            basket = Basket(RULES)
            basket.add(stale, quantity)  # a register whose catalogue is out of date
            sale = Sale.from_basket(
                basket, sale_id=str(uuid.uuid4()), register="Till 1", cashier_id=await reg.login(),
                created_at=now_iso(), cash_tendered=basket.totals().total or 1,
            )  # fmt: skip
            return await reg.submit(sale.to_wire())

    refused = run(scenario())
    assert (refused["type"], refused["code"]) == ("error", "invalid_sale")
    assert refused["message"] == f"sale.lines[0] {said}; update the register's catalogue."
    assert on_hand(sqlite_url, seed.sku) == seed.on_hand
