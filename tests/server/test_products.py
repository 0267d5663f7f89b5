"""A product new to the store: in the catalogue at once, on the feed and in registers' changes;
a bad one is refused and writes nothing. Tax classes added from the back office."""

from __future__ import annotations

import pytest

from store_server.errors import IdempotencyConflict, ProductRefused
from store_server.usecases.catalogue import catalogue_changes
from store_server.usecases.products import ADDED, CreateProduct, create_product, create_tax_class
from store_server.usecases.stock import availability
from store_server.usecases.stock_ops import Receive, receive
from tests.server.inventory_support import MANAGER, Shop, lines, rid, shop

__all__ = ["shop"]


def _new(sku: str = "OAT-1", **fields: object) -> CreateProduct:
    given: dict[str, object] = {"name": "Oat milk 1 l", "price": 179, "tax_class": "standard", **fields}
    return CreateProduct(rid(), MANAGER, sku, **given)  # type: ignore[arg-type]


def test_a_new_product_is_on_the_feed_and_in_the_registers_changes_then_takes_stock(shop: Shop) -> None:
    seq = shop.last_seq()
    added = shop.write(create_product, _new(barcode="4006381333931", category=" Dairy", name=" Oat milk 1 l "))
    assert added.changed == ADDED
    assert added.product == {
        "sku": "OAT-1",
        "barcode": "4006381333931",
        "name": "Oat milk 1 l",
        "category": "Dairy",
        "price": 179,
        "tax_class": "standard",
        "active": True,
        "safety_stock": None,
        "sold_by": "each",
        "tare_grams": 0,
    }
    [(kind, data)] = shop.events(seq)
    assert (kind, data["sku"], data["changed"][0]) == ("product.changed", "OAT-1", "sku")
    changes = shop.read(catalogue_changes, seq, None)
    assert [p["sku"] for p in changes.products] == ["OAT-1"]  # a running register takes it
    [level] = shop.read(availability, ["OAT-1"])
    assert (level["on_hand"], level["available"]) == (0, 0)  # no stock yet
    shop.write(receive, Receive(rid(), MANAGER, lines(("OAT-1", 12))))
    assert shop.level("OAT-1").on_hand == 12


def test_a_product_sold_by_weight_has_its_tare(shop: Shop) -> None:
    added = shop.write(create_product, _new("APPLES", sold_by="weight", tare_grams=12, price=299))
    assert (added.product["sold_by"], added.product["tare_grams"]) == ("weight", 12)


def test_a_retry_is_the_first_answer_and_other_content_a_conflict(shop: Shop) -> None:
    command = _new()
    first = shop.write(create_product, command)
    again = shop.write(create_product, command)
    assert (again.duplicate, again.product) == (True, first.product)
    with pytest.raises(IdempotencyConflict):
        shop.write(create_product, CreateProduct(command.request_id, MANAGER, "OAT-2", "Other", 1, "standard"))


@pytest.mark.parametrize(
    ("sku", "fields", "said"),
    [
        ("SKU-0001", {}, "has a product with SKU SKU-0001 already"),
        ("A=B", {}, "without spaces or '='"),
        ("TWO WORDS", {}, "without spaces or '='"),
        ("", {}, "A SKU must be 1 to 64"),
        ("X" * 65, {}, "A SKU must be 1 to 64"),
        ("N-1", {"name": "  "}, "A product name must be"),
        ("N-1", {"name": "a\nb"}, "A product name must be"),
        ("N-1", {"price": -1}, "A price must be a whole number"),
        ("N-1", {"price": 1.5}, "A price must be a whole number"),
        ("N-1", {"tax_class": "luxury"}, "no tax class 'luxury'"),
        ("N-1", {"barcode": "4000000000024"}, "already belongs to SKU-0002"),
        ("N-1", {"barcode": "with space"}, "A barcode must be"),
        ("N-1", {"barcode": "4006381333932"}, "not a valid EAN/UPC: its last digit should be 1"),
        ("N-1", {"sold_by": "litre"}, "each or by weight"),
        ("N-1", {"tare_grams": 5}, "Only a product sold by weight has a tare"),
        ("N-1", {"sold_by": "weight", "tare_grams": 2001}, "A tare must be"),
    ],
)
def test_a_bad_product_is_refused_and_writes_nothing(
    shop: Shop, sku: str, fields: dict[str, object], said: str
) -> None:
    before = shop.fingerprint()
    with pytest.raises(ProductRefused, match=said):
        shop.write(create_product, _new(sku, **fields))
    assert shop.fingerprint() == before


def test_tax_classes_are_added_once_and_never_changed_in_place(shop: Shop) -> None:
    assert shop.write(create_tax_class, "zero", "Zero rate", 0) is True
    assert shop.write(create_tax_class, "zero", "Zero rate", 0) is False
    before = shop.fingerprint()
    for code, name, rate, said in [
        ("zero", "Zero rate", 10_000, "is there already"),
        ("Zero", "Zero", 0, "small letters"),
        ("half", "", 0, "name must be"),
        ("more", "More", 1_000_001, "from 0 to 100 %"),
    ]:
        with pytest.raises(ProductRefused, match=said):
            shop.write(create_tax_class, code, name, rate)
    assert shop.fingerprint() == before
    shop.write(create_product, _new("Z-1", tax_class="zero"))
