"""A sale must be taxed the way the store taxes: its classes, their rates, its pricing mode.

A unit price other than the catalogue's is accepted: an offline lane may carry an old price.
"""

from __future__ import annotations

import uuid

import pytest

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.sale import Sale
from pos_core.tax import TaxClass
from store_server.errors import SaleRefused
from store_server.usecases.clock import now_iso
from store_server.usecases.sales import payload_hash, submit_sale
from tests.server.inventory_support import Shop, shop
from tests.server.support import PRODUCTS

__all__ = ["shop"]


def _sale(tax_class: str, rate_ppm: int, *, include: bool = True, price: int | None = None) -> Sale:
    """One oat milk, taxed as the register says (``tax_class`` at ``rate_ppm``)."""
    rules = TaxRules("EUR", {tax_class: TaxClass(tax_class, tax_class, rate_ppm)}, prices_include_tax=include)
    milk = PRODUCTS["SKU-0001"]
    product = Product(Sku(milk.sku), milk.barcode, milk.name, price or milk.price, tax_class, milk.category)
    basket = Basket(rules)
    basket.add(product, 2)
    total = basket.totals().total
    return Sale.from_basket(
        basket,
        sale_id=str(uuid.uuid4()),
        register="Till 1",
        cashier_id="c",
        created_at=now_iso(),
        cash_tendered=total,
    )


def _submit(shop: Shop, sale: Sale) -> None:
    shop.write(submit_sale, sale, payload_hash(sale))


@pytest.mark.parametrize(
    ("label", "sale", "says"),
    [
        ("unknown class", _sale("zero", 0), r"sale\.lines\[0\]\.tax_class 'zero' \(SKU-0001\) is not one of"),
        ("other rate", _sale("reduced", 10_000), r"sale\.lines\[0\]\.tax_rate_ppm is 10000 for SKU-0001"),
        ("other rate, other class", _sale("standard", 10_000), r"taxes standard at 190000"),
        ("tax added on top", _sale("reduced", 70_000, include=False), r"sale\.prices_include_tax says"),
        ("a 66-character class", _sale("x" * 66, 70_000), r"sale\.lines\[0\]\.tax_class 'x+' \(SKU-0001\)"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("sale") else "",
)
def test_a_sale_taxed_otherwise_than_the_store_is_refused(shop: Shop, label: str, sale: Sale, says: str) -> None:
    before = shop.fingerprint()
    with pytest.raises(SaleRefused, match=says) as refused:
        _submit(shop, sale)
    assert str(refused.value).endswith("update the register's catalogue.") or "settings" in str(refused.value), label
    assert shop.fingerprint() == before


def test_an_old_unit_price_is_accepted(shop: Shop) -> None:
    sale = _sale("reduced", 70_000, price=PRODUCTS["SKU-0001"].price - 20)  # the lane had last week's price
    _submit(shop, sale)
    assert shop.level("SKU-0001").on_hand == 8
