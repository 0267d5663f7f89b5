"""Goods sold by weight and card tenders: amounts, limits, receipts, and the wire round trip."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.errors import InsufficientTender, InvalidSale, PosError
from pos_core.receipt import StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tax import TaxClass
from pos_core.tender import Tender
from pos_core.weight import MAX_GRAMS, format_weight, weighed_amount

CLASSES = {"reduced": TaxClass("reduced", "Reduced", 70_000), "standard": TaxClass("standard", "Standard", 190_000)}
APPLES = Product(Sku("SKU-A"), "2000000000015", "Elstar apples loose", 299, "reduced", sold_by="weight")
MILK = Product(Sku("SKU-1"), "4006381333931", "Oat milk 1 l", 189, "reduced")
INTENT = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def basket(include: bool = True) -> Basket:
    return Basket(TaxRules("EUR", CLASSES, prices_include_tax=include))


def close(b: Basket, cash: int = 0, card: Tender | None = None) -> Sale:
    return Sale.from_basket(
        b, sale_id=str(uuid.uuid4()), register="Till 1", cashier_id="c1", created_at="2026-11-27T10:15:00+00:00",
        cash_tendered=cash, card=card,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("price", "grams", "amount"),
    [(299, 534, 160), (299, 1000, 299), (5, 100, 1), (1, 500, 1), (1, 499, 0), (249, 1, 0), (0, 750, 0)],
)
def test_a_weighed_amount_is_price_per_kg_times_grams_rounded_half_up(price: int, grams: int, amount: int) -> None:
    assert weighed_amount(price, grams) == amount


@given(st.integers(0, 10**9), st.integers(1, MAX_GRAMS))
def test_weighed_amounts_are_the_nearest_minor_unit_halves_up(price: int, grams: int) -> None:
    amount = weighed_amount(price, grams)
    assert type(amount) is int
    assert amount == (price * grams + 500) // 1000
    assert -500 <= price * grams - amount * 1000 < 500  # an exact half rounds up


def test_weights_read_in_kilograms() -> None:
    assert [format_weight(g) for g in (534, 1000, 12_345, 5)] == ["0.534 kg", "1.000 kg", "12.345 kg", "0.005 kg"]


def test_a_weighed_product_needs_its_weight_and_a_second_weighing_adds_to_the_line() -> None:
    b = basket()
    with pytest.raises(PosError, match="sold by weight; weigh it first"):
        b.add(APPLES)
    b.add(APPLES, 534)
    b.add(MILK)
    b.add(APPLES, 300)
    assert [(ln.product.sku, ln.quantity, ln.amount, ln.items) for ln in b.lines] == [
        ("SKU-A", 834, 249, 1),
        ("SKU-1", 1, 189, 1),
    ]
    for bad in (0, -5, MAX_GRAMS + 1, 1.5):
        with pytest.raises(PosError, match="grams"):
            b.add(APPLES, bad)  # type: ignore[arg-type]
    with pytest.raises(PosError, match="grams"):
        b.add(APPLES, MAX_GRAMS)  # the line would exceed the limit
    assert b.lines[0].quantity == 834


def test_the_receipt_shows_the_weight_and_the_price_per_kg_and_the_card() -> None:
    b = basket()
    b.add(APPLES, 534)
    b.add(MILK, 2)
    card = Tender.card(100, INTENT, "SA0001", "VISA", "4727")
    sale = close(b, cash=500, card=card)
    assert sale.total == 160 + 378
    assert sale.change == 500 - (538 - 100)
    text = [r.text for r in layout_receipt(sale, StoreHeader("Shop"), "Alex", 42) if not r.qr]
    assert all(len(t) <= 42 for t in text)
    assert any(t.startswith("Elstar apples loose") and t.endswith("1.60") for t in text)
    assert "  0.534 kg x 2.99/kg" in text
    assert "  2 x 1.89" in text
    assert any(t.startswith("Card VISA ending 4727") and t.endswith("1.00") for t in text)
    assert "  Auth code SA0001" in text
    assert f"  Ref {INTENT}" in text
    assert any(t.startswith("Cash") and t.endswith("5.00") for t in text)
    assert any(t.startswith("Change") and t.endswith("0.62") for t in text)


def test_a_card_only_receipt_has_no_change_row_and_a_hand_settled_card_says_so() -> None:
    b = basket()
    b.add(MILK)
    text = [r.text for r in layout_receipt(close(b, card=Tender.card(189, INTENT)), StoreHeader("S"), "A", 42)]
    assert any(t.startswith("Card (checked on the terminal)") and t.endswith("1.89") for t in text)
    assert not any(t.startswith("Change") for t in text)


def test_a_card_never_gives_change_and_cash_must_cover_the_rest() -> None:
    b = basket()
    b.add(MILK)
    with pytest.raises(PosError, match="never gives change"):
        close(b, card=Tender.card(200, INTENT, "SA1", "VISA", "4727"))
    with pytest.raises(InsufficientTender, match=r"€0\.89 short"):
        close(b, cash=0, card=Tender.card(100, INTENT, "SA1", "VISA", "4727"))


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"last4": "4571736281954727"}, "last 4 digits"),
        ({"last4": "47a7"}, "last 4 digits"),
        ({"last4": "4727\n"}, "last 4 digits"),
        ({"auth_code": "SA01\n"}, "auth code"),
        ({"card_brand": "VISA\n"}, "brand"),
        ({"reference": "pi_123\n"}, "reference"),
        ({"auth_code": "SA 01"}, "auth code"),
        ({"card_brand": "VISA 4571"}, "brand"),
        ({"reference": ""}, "reference"),
    ],
)
def test_a_card_tender_keeps_only_what_a_receipt_may_show(fields: dict[str, str], says: str) -> None:
    details = {"reference": INTENT, "auth_code": "SA0001", "card_brand": "VISA", "last4": "4727", **fields}
    with pytest.raises(PosError, match=says):
        Tender("card", 100, **details)
    with pytest.raises(PosError, match="no card details"):
        Tender("cash", 100, last4="4727")


def _mixed_wire() -> dict[str, Any]:
    b = basket()
    b.add(APPLES, 534)
    b.add(MILK)
    return close(b, cash=100, card=Tender.card(249, INTENT, "SA0001", "VISA", "4727")).to_wire()


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda w: w["lines"][0].update(amount=159), r"lines\[0\]\.amount must equal unit_price \(per kg\)"),
        (lambda w: w["lines"][0].update(sold_by="litre"), r"lines\[0\]\.sold_by"),
        (lambda w: w["lines"][0].update(quantity=MAX_GRAMS + 1), r"lines\[0\]\.quantity: A weight"),
        (lambda w: w["lines"][0].pop("sold_by"), r"lines\[0\]\.amount must equal unit_price times quantity"),
        (lambda w: w["lines"][1].update(quantity=10_000), r"lines\[1\]\.quantity: Quantity"),
        (lambda w: w["tenders"][0].update(last4="4571736281954727"), r"tenders\[0\]: Only the last 4 digits"),
        (lambda w: w["tenders"][0].update(reference=None), r"tenders\[0\]: The card payment's reference"),
        (lambda w: w["tenders"][1].update(last4="4727"), r"tenders\[1\]: A cash tender carries no card"),
        (lambda w: w.update(change=1, tenders=[{**w["tenders"][0], "amount": 290}]), "change comes only from cash"),
    ],
)
def test_a_weighed_or_card_sale_that_does_not_add_up_is_refused_naming_the_field(mutate: Any, names: str) -> None:
    wire = copy.deepcopy(_mixed_wire())
    mutate(wire)
    with pytest.raises(InvalidSale, match=names):
        Sale.from_wire(wire)


def test_card_data_a_register_should_not_have_sent_does_not_survive_decoding() -> None:
    wire = _mixed_wire()
    wire["tenders"][0]["pan"] = "4571736281954727"
    assert "4571736281954727" not in repr(Sale.from_wire(wire).to_wire())


def test_a_cash_sale_of_pieces_keeps_its_wire_form() -> None:
    b = basket()
    b.add(MILK, 2)
    wire = close(b, cash=500).to_wire()
    assert set(wire["lines"][0]) == {"sku", "name", "quantity", "unit_price", "amount", "tax_class", "tax_rate_ppm"}
    assert wire["tenders"] == [{"kind": "cash", "amount": 500}]


weighed = st.builds(
    Product,
    sku=st.sampled_from([Sku(f"SKU-W{i}") for i in range(4)]),
    barcode=st.just(""),
    name=st.just("Loose produce"),
    price=st.integers(0, 20_000),
    tax_class=st.sampled_from(sorted(CLASSES)),
    sold_by=st.just("weight"),
)
pieces = st.builds(
    Product,
    sku=st.sampled_from([Sku(f"SKU-P{i}") for i in range(4)]),
    barcode=st.just(""),
    name=st.just("Packet"),
    price=st.integers(0, 100_000),
    tax_class=st.sampled_from(sorted(CLASSES)),
)
lines = st.one_of(st.tuples(weighed, st.integers(1, 30_000)), st.tuples(pieces, st.integers(1, 20)))
cards = st.builds(
    lambda auth, brand, last4, by_hand: (None, None, None) if by_hand else (auth, brand, last4),
    st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
    st.sampled_from(["VISA", "Mastercard", "AMEX", "Girocard", "Diners Club"]),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.booleans(),
)


@settings(max_examples=150)
@given(
    st.lists(lines, min_size=1, max_size=10),
    st.booleans(),
    st.sampled_from(["cash", "card", "split"]),
    st.integers(0, 10**6),
    cards,
    st.uuids(version=4),
)
def test_weighed_lines_and_card_or_split_tenders_survive_the_wire(  # noqa: PLR0917 - one per strategy
    picks: list[tuple[Product, int]],
    include: bool,
    how: str,
    extra: int,
    card: tuple[str | None, str | None, str | None],
    reference: uuid.UUID,
) -> None:
    b = basket(include)
    by_sku: dict[str, Product] = {}
    for picked, quantity in picks:
        product = by_sku.setdefault(picked.sku, picked)
        if b.lines and any(ln.product.sku == product.sku and ln.quantity + quantity > 30_000 for ln in b.lines):
            continue
        b.add(product, quantity)
    total = b.totals().total
    if how == "cash" or total == 0:
        sale = close(b, cash=total + extra)
    else:
        on_card = total if how == "card" else max(1, total // 2)
        tender = Tender.card(on_card, str(reference), *card)
        sale = close(b, cash=0 if how == "card" else total - on_card + extra, card=tender)
    assert sale.tendered - sale.change == sale.total
    assert sale.change <= sum(t.amount for t in sale.tenders if t.is_cash)
    assert sum(ln.amount for ln in sale.lines) == sale.subtotal
    assert Sale.from_wire(sale.to_wire()) == sale
    assert Sale.from_wire(copy.deepcopy(sale.to_wire())).to_wire() == sale.to_wire()
