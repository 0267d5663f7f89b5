"""The demo shop's catalogue is well formed, realistic in shape and the same every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_core.catalogue import Catalogue, Product, Sku, is_valid_gtin
from pos_core.tax import TaxClass
from store_server import demo_catalogue
from store_server.demo_catalogue import DEMO_BARCODES_FOR_DOCS, DemoProduct, DemoStore, demo_store


@pytest.fixture(scope="module")
def store() -> DemoStore:
    return demo_store()


def test_shop_identity(store: DemoStore) -> None:
    assert store.name == "Harbour Street Market"
    assert store.currency == "EUR"
    assert store.prices_include_tax is True
    assert store.address_lines == ("12 Harbour Street", "24103 Kiel")


def test_tax_classes(store: DemoStore) -> None:
    assert store.tax_classes == [("reduced", "Reduced rate 7%", 70_000), ("standard", "Standard rate 19%", 190_000)]
    for code, name, rate_ppm in store.tax_classes:
        TaxClass(code, name, rate_ppm)  # raises on an invalid rate


def test_counts_in_range(store: DemoStore) -> None:
    assert 300 <= len(store.products) <= 400
    assert 10 <= len(store.categories) <= 14
    assert len(set(store.categories)) == len(store.categories)
    used = {p.category for p in store.products}
    assert used == set(store.categories)
    for category in store.categories:
        assert sum(p.category == category for p in store.products) >= 10


def test_barcodes_are_valid_unique_ean13_german_or_in_store_for_weighed_goods(store: DemoStore) -> None:
    barcodes = [p.barcode for p in store.products]
    assert len(set(barcodes)) == len(barcodes)
    for p in store.products:
        assert len(p.barcode) == 13
        assert is_valid_gtin(p.barcode), p
        if p.sold_by == "weight":
            assert p.barcode.startswith("21"), p  # GS1 restricted circulation: this shop only
        else:
            assert 400 <= int(p.barcode[:3]) <= 440, p


def test_skus_unique_sorted_and_formatted(store: DemoStore) -> None:
    skus = [p.sku for p in store.products]
    assert len(set(skus)) == len(skus)
    assert skus == sorted(skus)
    assert skus == [f"SKU-{n:05d}" for n in range(1, len(skus) + 1)]


def test_names_unique_and_tidy(store: DemoStore) -> None:
    names = [p.name for p in store.products]
    assert len(set(names)) == len(names)
    assert all(name and name == name.strip() and "|" not in name for name in names)


def test_prices_positive_integer_cents(store: DemoStore) -> None:
    for p in store.products:
        assert type(p.price) is int, p
        assert 0 < p.price < 100_00, p


def test_every_product_in_a_known_tax_class(store: DemoStore) -> None:
    codes = {code for code, _, _ in store.tax_classes}
    assert {p.tax_class for p in store.products} == codes


@pytest.mark.parametrize(
    ("name", "tax_class"),
    [
        ("Sourdough loaf 750 g", "reduced"),
        ("Whole milk 3.5 % 1 l", "reduced"),
        ("Oat milk 1 l", "standard"),
        ("Riesling dry 0.75 l", "standard"),
        ("Dishwasher tablets 40 pcs", "standard"),
        ("Shampoo 300 ml", "standard"),
    ],
)
def test_tax_class_examples(store: DemoStore, name: str, tax_class: str) -> None:
    by_name = {p.name: p for p in store.products}
    assert by_name[name].tax_class == tax_class


def test_stock_levels(store: DemoStore) -> None:
    levels = [p.on_hand for p in store.products if p.sold_by == "each"]
    assert all(type(n) is int and 0 <= n <= 120 for n in levels)
    assert 1 <= levels.count(0) <= 15
    assert 1 <= sum(1 <= n <= 3 for n in levels) <= 20


def test_a_handful_of_loose_produce_is_sold_by_weight_with_stock_in_grams(store: DemoStore) -> None:
    weighed = [p for p in store.products if p.sold_by == "weight"]
    assert 3 <= len(weighed) <= 10
    assert {"Bananas loose", "Elstar apples loose", "Vine tomatoes loose"} <= {p.name for p in weighed}
    assert all(p.category == "Fruit & vegetables" and p.tax_class == "reduced" for p in weighed)
    assert all(1_000 <= p.on_hand <= 50_000 for p in weighed), "grams: a few kilograms of each"
    assert all(100 <= p.price <= 1_000 for p in weighed), "euro cents per kilogram"
    assert store.products[-len(weighed) :] == weighed, "appended, so every other SKU and barcode is unchanged"


def test_self_fill_punnets_are_weighed_net_of_a_realistic_tare_and_nothing_else_has_one(store: DemoStore) -> None:
    tared = {p.name: p.tare_grams for p in store.products if p.tare_grams}
    assert tared == {"Cherry tomatoes (self-fill punnet)": 15, "Cherries (self-fill punnet)": 18}
    assert all(p.sold_by == "weight" for p in store.products if p.tare_grams)
    cherry_tomatoes = next(p for p in store.products if p.name == "Cherry tomatoes (self-fill punnet)")
    assert cherry_tomatoes.barcode == "2100007000008"  # the module docstring's


def test_deterministic() -> None:
    first, second = demo_store(), demo_store()
    assert first == second
    assert first is not second
    assert first.products is not second.products


def test_cashiers(store: DemoStore) -> None:
    assert ("Alex Morgan", "1234") in store.cashiers
    assert ("Sam Patel", "2468") in store.cashiers
    pins = [pin for _, pin in store.cashiers]
    assert len(set(pins)) == len(pins)


def test_barcodes_for_docs_match_catalogue_and_docstring(store: DemoStore) -> None:
    assert (store.products[0].barcode, store.products[1].barcode) == DEMO_BARCODES_FOR_DOCS
    assert demo_catalogue.__doc__ is not None
    for code in (*DEMO_BARCODES_FOR_DOCS, "1234", "2468"):
        assert code in demo_catalogue.__doc__


def test_loads_into_core_catalogue(store: DemoStore) -> None:
    catalogue = Catalogue(
        [Product(Sku(p.sku), p.barcode, p.name, p.price, p.tax_class, p.category, p.sold_by) for p in store.products]
    )
    assert len(catalogue) == len(store.products)
    first: DemoProduct = store.products[0]
    found = catalogue.lookup(first.barcode)
    assert found is not None
    assert found.name == first.name


def test_the_readme_counts_the_demo_right(store: DemoStore) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    weighed = sum(1 for p in store.products if p.sold_by == "weight")
    words = {6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
    assert f"({len(store.products)} products with EAN-13 barcodes, {words[weighed]} of them loose goods" in readme
