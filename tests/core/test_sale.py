from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Catalogue, Product, Sku, gtin_check_digit, is_valid_gtin
from pos_core.errors import InsufficientTender, InvalidSale, PosError
from pos_core.receipt import StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tax import TaxClass

CLASSES = {"reduced": TaxClass("reduced", "Reduced", 70_000), "standard": TaxClass("standard", "Standard", 190_000)}
MILK = Product(Sku("SKU-1"), "4006381333931", "Oat milk 1 l", 189, "reduced")
SOAP = Product(Sku("SKU-2"), "4012345678901", "Olive soap 100 g", 349, "standard")


def basket(include: bool = True) -> Basket:
    return Basket(TaxRules("EUR", CLASSES, prices_include_tax=include))


def close(b: Basket, tendered: int) -> Sale:
    return Sale.from_basket(
        b,
        sale_id=str(uuid.uuid4()),
        register="Till 1",
        cashier_id="c1",
        created_at="2026-11-27T10:15:00+00:00",
        cash_tendered=tendered,
    )


def test_scanning_again_adds_to_the_same_line() -> None:
    b = basket()
    b.add(MILK)
    b.add(SOAP)
    b.add(MILK)
    assert [(ln.product.sku, ln.quantity) for ln in b.lines] == [("SKU-1", 2), ("SKU-2", 1)]
    t = b.totals()
    assert t.total == 2 * 189 + 349
    assert [(x.code, x.tax) for x in t.taxes] == [("reduced", 25), ("standard", 56)]


def test_exclusive_prices_add_tax_on_top() -> None:
    b = basket(include=False)
    b.add(SOAP, 2)
    t = b.totals()
    assert (t.subtotal, t.tax_total, t.total) == (698, 133, 831)


def test_quantities_are_bounded_and_whole() -> None:
    b = basket()
    for bad in (0, -1, 10_000, 1.5):
        with pytest.raises(PosError):
            b.add(MILK, bad)  # type: ignore[arg-type]
    assert b.is_empty()
    b.add(MILK, 9_999)
    with pytest.raises(PosError):
        b.add(MILK)
    assert b.lines[0].quantity == 9_999


def test_set_quantity_zero_removes_and_bad_index_is_a_sentence() -> None:
    b = basket()
    b.add(MILK)
    b.set_quantity(0, 0)
    assert b.is_empty()
    with pytest.raises(PosError, match="no line 3"):
        b.remove(2)


def test_cash_short_of_the_total_is_refused() -> None:
    b = basket()
    b.add(SOAP)
    with pytest.raises(InsufficientTender, match=r"€0\.49 short"):
        close(b, 300)


def test_empty_basket_cannot_be_paid() -> None:
    with pytest.raises(PosError, match="empty"):
        close(basket(), 100)


products = st.builds(
    Product,
    sku=st.sampled_from([Sku(f"SKU-{i}") for i in range(8)]),
    barcode=st.just(""),
    name=st.text(min_size=1, max_size=30).filter(str.strip),
    price=st.integers(min_value=0, max_value=100_000),
    tax_class=st.sampled_from(sorted(CLASSES)),
)


@settings(max_examples=150)
@given(st.lists(st.tuples(products, st.integers(1, 50)), min_size=1, max_size=12), st.booleans(), st.integers(0, 10**6))
def test_a_closed_sale_survives_the_wire_and_its_figures_add_up(
    picks: list[tuple[Product, int]], include: bool, extra: int
) -> None:
    b = basket(include)
    by_sku: dict[str, Product] = {}
    for picked, qty in picks:
        b.add(by_sku.setdefault(picked.sku, picked), qty)  # one product per SKU, as in a catalogue
    total = b.totals().total
    sale = close(b, total + extra)
    assert sale.change == extra
    assert sale.tendered - sale.change == sale.total
    assert sum(ln.amount for ln in sale.lines) == sale.subtotal
    assert sale.total == sale.subtotal + (0 if include else sale.tax_total)
    assert Sale.from_wire(sale.to_wire()) == sale


def _wire() -> dict[str, Any]:
    b = basket()
    b.add(MILK, 2)
    b.add(SOAP)
    return close(b, 1000).to_wire()


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda w: w["lines"][0].update(amount=1), "amount"),
        (lambda w: w.update(total=w["total"] + 1), "total"),
        (lambda w: w["taxes"][0].update(tax=0), "taxes"),
        (lambda w: w.update(change=w["change"] + 1), "tenders"),
        (lambda w: w.update(id="not-a-uuid"), "id"),
        (lambda w: w.update(id=w["id"] + "\n"), "id"),  # a resend with a newline must not be another sale
        (lambda w: w.update(created_at="2026-11-27T10:00:00+00:00\n"), "created_at"),
        (lambda w: w.update(created_at="yesterday"), "created_at"),
        (lambda w: w["lines"][0].update(quantity=0), "quantity"),
        (lambda w: w["lines"][0].update(quantity="2"), "quantity"),
        (lambda w: w.update(lines=[]), "lines"),
        (lambda w: w.update(tenders=[{"kind": "bitcoin", "amount": 1000}]), "bitcoin"),
        (lambda w: w.update(currency="XXQ"), "ISO 4217"),
        (lambda w: w.pop("register"), "register"),
        (lambda w: w["lines"][1].update(tax_class="reduced"), "two different rates"),
    ],
)
def test_a_sale_whose_figures_do_not_add_up_is_refused_naming_the_field(mutate: Any, names: str) -> None:
    wire = copy.deepcopy(_wire())
    mutate(wire)
    with pytest.raises(InvalidSale, match=names):
        Sale.from_wire(wire)


def test_non_objects_are_refused() -> None:
    with pytest.raises(InvalidSale):
        Sale.from_wire([1, 2])


def test_receipt_names_every_line_the_total_and_the_tax() -> None:
    b = basket()
    b.add(MILK, 2)
    b.add(SOAP)
    sale = close(b, 1000)
    rows = layout_receipt(sale, StoreHeader("Harbour Street Market", ("12 Harbour Street",)), "Alex Morgan", 42)
    text = [r.text for r in rows if not r.qr]
    assert [r.text for r in rows if r.qr] == [f"POS-SALE:{sale.id}"]  # the last row, for finding it again
    assert all(len(t) <= 42 for t in text)
    assert any(t.startswith("Oat milk 1 l") and t.endswith("3.78") for t in text)
    assert "  2 x 1.89" in text
    assert any(t.startswith("Olive soap 100 g") and t.endswith("3.49") for t in text)
    total_row = next(r for r in rows if r.text.startswith("TOTAL EUR"))
    assert total_row.text.endswith("7.27")
    assert total_row.big
    assert len(total_row.text) <= 21
    assert any(t.startswith("Change") and t.endswith("2.73") for t in text)
    assert any(t.startswith("incl. tax reduced 7%") and t.endswith("0.25") for t in text)
    assert f"Sale {sale.id}" in text


def test_long_names_are_cut_to_fit_the_paper() -> None:
    long = Product(Sku("SKU-9"), "", "Extra virgin olive oil from a single estate " * 2, 1299, "reduced")
    b = basket()
    b.add(long)
    rows = layout_receipt(close(b, 1299), StoreHeader("S"), "A", 32)
    line = next(r.text for r in rows if r.text.startswith("Extra virgin"))
    assert len(line) == 32
    assert line.endswith("~ 12.99")


def test_gtin_check_digits() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert is_valid_gtin("4006381333931")
    assert not is_valid_gtin("4006381333932")
    assert is_valid_gtin("036000291452")  # UPC-A
    assert not is_valid_gtin("40063813339a")


def test_catalogue_finds_by_barcode_sku_and_upc_as_ean() -> None:
    upc_product = Product(Sku("SKU-3"), "0036000291452", "Tissues", 99, "standard")
    cat = Catalogue([MILK, SOAP, upc_product])
    assert cat.lookup(" 4006381333931\r\n") == MILK
    assert cat.lookup("SKU-2") == SOAP
    assert cat.lookup("036000291452") == upc_product
    assert cat.lookup("0000000000000") is None
    renamed = Product(MILK.sku, "4000000000000", "Oat milk", 199, "reduced")
    cat.add(renamed)
    assert cat.lookup("4006381333931") is None
    assert cat.lookup("4000000000000") == renamed
    assert len(cat) == 3


def test_a_barcode_moved_to_another_product_keeps_scanning_whatever_order_the_changes_come_in() -> None:
    cat = Catalogue([MILK, SOAP])
    moved = Product(SOAP.sku, MILK.barcode, SOAP.name, SOAP.price, SOAP.tax_class)  # the barcode is now soap's
    cat.add(moved)
    cat.add(Product(MILK.sku, "", MILK.name, 249, MILK.tax_class))  # milk's change, without it, comes after
    assert cat.lookup(MILK.barcode) == moved
    cat.remove(MILK.sku)
    assert cat.lookup(MILK.barcode) == moved
    cat.remove(SOAP.sku)
    assert cat.lookup(MILK.barcode) is None
    assert len(cat) == 0


def test_receipt_prints_the_local_time_and_the_register_name() -> None:
    from datetime import timedelta, timezone

    b = basket()
    b.add(MILK)
    sale = close(b, 189)
    kiel_winter = timezone(timedelta(hours=1))
    rows = [r.text for r in layout_receipt(sale, StoreHeader("S"), "A", 42, tz=kiel_winter)]
    assert rows[2] == "2026-11-27 11:15" + " " * 20 + "Till 1"
