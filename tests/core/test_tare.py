"""A weighed product's preset tare (its container): the catalogue wire, the sale line and the receipt."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.errors import InvalidSale, PosError
from pos_core.receipt import StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tax import TaxClass
from pos_core.weight import MAX_TARE_GRAMS, format_net_weight, tare_problem

CLASSES = {"reduced": TaxClass("reduced", "Reduced", 70_000)}
OLIVES = Product(Sku("SKU-O"), "2100007000008", "Mixed olives (deli tub)", 1990, "reduced", "Deli", "weight", 12)
MILK = Product(Sku("SKU-1"), "4006381333931", "Oat milk 1 l", 189, "reduced")


def _sale(*lines: tuple[Product, int]) -> Sale:
    basket = Basket(TaxRules("EUR", CLASSES, prices_include_tax=True))
    for product, quantity in lines:
        basket.add(product, quantity)
    return Sale.from_basket(
        basket, sale_id=str(uuid.uuid4()), register="Till 1", cashier_id="c1",
        created_at="2026-11-27T10:15:00+00:00", cash_tendered=5000,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("tare", "how", "says"),
    [
        (-1, "weight", "from 0 to 2,000"),
        (MAX_TARE_GRAMS + 1, "weight", "from 0 to 2,000"),
        (1.5, "weight", "whole number of grams"),
        ("12", "weight", "whole number of grams"),
        (True, "weight", "whole number of grams"),
        (12, "each", "Only a product sold by weight has a tare"),
    ],
)
def test_a_tare_that_is_not_whole_grams_of_a_weighed_product_is_refused_in_a_sentence(
    tare: object, how: Any, says: str
) -> None:
    problem = tare_problem(tare, how)
    assert problem is not None
    assert says in problem
    assert problem.endswith(".")
    with pytest.raises(PosError, match=says):
        Product(Sku("SKU-X"), "", "Tub", 100, "reduced", sold_by=how, tare_grams=tare)  # type: ignore[arg-type]


def test_no_tare_and_a_container_up_to_the_limit_are_allowed() -> None:
    assert tare_problem(0, "each") is None
    assert tare_problem(0, "weight") is None
    assert tare_problem(MAX_TARE_GRAMS, "weight") is None


@given(
    tare=st.integers(0, MAX_TARE_GRAMS),
    price=st.integers(0, 10**6),
    barcode=st.sampled_from(["", "2100007000008"]),
    category=st.sampled_from(["", "Deli"]),
)
def test_a_catalogue_product_round_trips_through_the_wire(tare: int, price: int, barcode: str, category: str) -> None:
    product = Product(Sku("SKU-O"), barcode, "Olives", price, "reduced", category, "weight", tare)
    wire = product.to_wire()
    assert wire["tare_grams"] == tare
    assert Product.from_wire(wire) == product


def test_a_product_from_a_server_before_weighed_goods_is_sold_each_without_a_tare() -> None:
    old = {"sku": "SKU-1", "barcode": "4006381333931", "name": "Oat milk 1 l", "price": 189, "tax_class": "reduced"}
    assert Product.from_wire(old) == MILK


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"tare_grams": -5}, "tare must be a whole number"),
        ({"tare_grams": 12, "sold_by": "each"}, "Only a product sold by weight"),
        ({"price": "1990"}, "price of catalogue product 'SKU-O'"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_a_catalogue_product_the_till_cannot_sell_is_refused(change: dict[str, Any], says: str) -> None:
    with pytest.raises(PosError, match=says):
        Product.from_wire({**OLIVES.to_wire(), **change})


def test_a_tared_line_carries_its_net_weight_and_tare_through_the_sale_wire() -> None:
    sale = _sale((OLIVES, 534), (MILK, 1))
    wire = sale.to_wire()
    assert wire["lines"][0]["tare_grams"] == 12
    assert wire["lines"][0]["quantity"] == 534  # net: the scale already took the tub off
    assert wire["lines"][0]["amount"] == 1063  # 19.90 x 0.534 = 10.6266
    assert "tare_grams" not in wire["lines"][1]
    assert Sale.from_wire(wire) == sale


def test_an_untared_weighed_line_keeps_its_wire_form() -> None:
    apples = Product(Sku("SKU-A"), "", "Elstar apples loose", 249, "reduced", sold_by="weight")
    assert "tare_grams" not in _sale((apples, 534)).to_wire()["lines"][0]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ({"tare_grams": -12}, r"lines\[0\]\.tare_grams: A tare must be"),
        ({"tare_grams": 12.0}, r"lines\[0\]\.tare_grams: A tare must be"),
        ({"tare_grams": 9_999}, r"lines\[0\]\.tare_grams: A tare must be"),
    ],
)
def test_a_sale_with_an_impossible_tare_is_refused_naming_the_field(line: dict[str, Any], says: str) -> None:
    wire = _sale((OLIVES, 534)).to_wire()
    wire["lines"][0].update(line)
    with pytest.raises(InvalidSale, match=says):
        Sale.from_wire(wire)


def test_a_tare_on_a_line_of_pieces_is_refused() -> None:
    wire = _sale((MILK, 2)).to_wire()
    wire["lines"][0]["tare_grams"] = 12
    with pytest.raises(InvalidSale, match=r"lines\[0\]\.tare_grams: Only a product sold by weight"):
        Sale.from_wire(wire)


def test_the_receipt_shows_net_weight_and_tare() -> None:
    assert format_net_weight(534, 12) == "0.534 kg net (tare 0.012 kg)"
    assert format_net_weight(534, 0) == "0.534 kg"
    sale = _sale((OLIVES, 534))
    text = [r.text for r in layout_receipt(sale, StoreHeader("Shop"), "Alex", 42) if not r.qr]
    assert any(t.startswith("Mixed olives (deli tub)") and t.endswith("10.63") for t in text)
    assert "  0.534 kg net (tare 0.012 kg) x 19.90/kg" in text


def test_a_58mm_receipt_wraps_the_tare_rather_than_cut_the_price() -> None:
    text = [r.text for r in layout_receipt(_sale((OLIVES, 534)), StoreHeader("Shop"), "Alex", 32) if not r.qr]
    assert all(len(t) <= 32 for t in text)
    at = text.index("  0.534 kg net (tare 0.012 kg)")
    assert text[at + 1] == "    x 19.90/kg"
