"""Shared fixtures: a real sale laid out by pos_core, and a fake network printer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peripherals.fakes.network_printer import FakeNetworkPrinter
from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.receipt import ReceiptRow, StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tax import TaxClass


@pytest.fixture
def sale() -> Sale:
    rules = TaxRules("EUR", {"std": TaxClass("std", "Standard", 190_000), "red": TaxClass("red", "Reduced", 70_000)})
    basket = Basket(rules)
    basket.add(Product(Sku("A1"), "4000000000001", "Café crème 250 g", 549, "red"), 2)
    basket.add(Product(Sku("B2"), "4000000000002", "Kitchen towel", 199, "std"))
    return Sale.from_basket(
        basket,
        sale_id="S-0001",
        register="R1",
        cashier_id="c1",
        created_at="2026-11-27T10:15:00+01:00",
        cash_tendered=2000,
    )


@pytest.fixture
def receipt_rows(sale: Sale) -> list[ReceiptRow]:
    store = StoreHeader("Corner Shop", ("1 High Street", "Münster"))
    return layout_receipt(sale, store, "Ana")


@pytest.fixture
def fake_printer() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter(status={1: 0x16, 2: 0x12, 4: 0x12}) as fake:
        yield fake
