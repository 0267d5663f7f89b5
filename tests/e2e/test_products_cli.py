"""`pos products` on a store that is not the demo: a manager adds tax classes and products, books
their stock in, lists the catalogue; a running store's storefront sees each new product."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.test_cli import pos
from tests.e2e.test_orders_cli import Store, store

__all__ = ["store"]


def _in(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return pos(*args, "--data-dir", str(data_dir), timeout=60)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_blank_store_gets_its_tax_classes_products_and_stock(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    assert _ok(_in(shop, "store", "init", "--name", "Corner Shop")).startswith("Store 'Corner Shop'")
    assert _ok(_in(shop, "products", "list")) == "No products.\n"
    assert _ok(_in(shop, "products", "tax-classes")).startswith("No tax classes yet; add one with")
    no_class = _in(shop, "products", "add", "OAT-1", "--name", "Oat milk", "--price", "1", "--tax-class", "std")
    assert no_class.stderr == (
        "pos: There is no tax class 'std': the store has none yet; add one first (pos products add-tax-class).\n"
    )
    said = _ok(_in(shop, "products", "add-tax-class", "standard", "Standard rate 19%", "19%"))
    assert said == "Tax class standard (19 %) added; registers take it when they next connect (restart them).\n"
    _ok(_in(shop, "products", "add-tax-class", "reduced", "Reduced rate 5.5%", "5.5"))
    assert _ok(_in(shop, "products", "tax-classes")).splitlines() == [
        "reduced      5.5 %  Reduced rate 5.5%",
        "standard      19 %  Standard rate 19%",
    ]
    added = _ok(_in(shop, "products", "add", "OAT-1", "--name", "Oat milk 1 l", "--price", "1.79",
                    "--tax-class", "reduced", "--barcode", "4006381333931", "--category", "Dairy"))  # fmt: skip
    assert added.startswith("OAT-1 is in the catalogue (feed seq 1); book its stock in with `pos stock receive`.\n")
    assert "  Dairy is a new category" in added
    weighed = _ok(_in(shop, "products", "add", "APPLES", "--name", "Apples", "--price", "2.99",
                      "--tax-class", "reduced", "--by-weight", "--tare-grams", "12"))  # fmt: skip
    assert "  Apples, €2.99/kg (tare 12 g), tax class reduced, barcode -, category -, sold" in weighed
    _ok(_in(shop, "stock", "receive", "OAT-1=24", "APPLES=5000"))
    assert _ok(_in(shop, "products", "list")).splitlines() == [
        "APPLES  Apples, €2.99/kg (tare 12 g), tax class reduced, barcode -, category -, sold",
        "OAT-1   Oat milk 1 l, €1.79, tax class reduced, barcode 4006381333931, category Dairy, sold",
    ]
    _ok(_in(shop, "products", "set", "APPLES", "--inactive"))
    assert [p["sku"] for p in map(json.loads, _ok(_in(shop, "products", "list", "--json")).splitlines())] == ["OAT-1"]
    assert len(_ok(_in(shop, "products", "list", "--all")).splitlines()) == 2
    assert _ok(_in(shop, "products", "list", "--category", "Dairy")).startswith("OAT-1 ")
    level = json.loads(_ok(_in(shop, "stock", "show", "OAT-1", "--json")))
    assert (level["on_hand"], level["available"]) == (24, 24)


def test_a_bad_product_or_tax_class_is_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(_in(shop, "store", "init", "--name", "Corner Shop"))
    _ok(_in(shop, "products", "add-tax-class", "standard", "Standard rate", "19"))
    _ok(_in(shop, "products", "add", "OAT-1", "--name", "Oat milk", "--price", "1.79", "--tax-class", "standard"))
    before = _ok(_in(shop, "products", "list", "--all", "--json"))
    for args, said in [
        (("add", "OAT-1", "--name", "x", "--price", "1", "--tax-class", "standard"), "has a product with SKU OAT-1"),
        (("add", "A=B", "--name", "x", "--price", "1", "--tax-class", "standard"), "without spaces or '='"),
        (("add", "N-1", "--name", "x", "--price", "1", "--tax-class", "luxury"), "pick one the store has: standard."),
        (("add", "N-1", "--name", "x", "--price", "1,5x", "--tax-class", "standard"), "is not an amount"),
        (("add", "N-1", "--name", "x", "--price", "1", "--tax-class", "standard", "--tare-grams", "5"), "Only a"),
        (("add-tax-class", "standard", "Other", "20"), "Tax class standard is there already"),
    ]:
        refused = _in(shop, "products", *args)
        assert (refused.returncode, refused.stdout) == (1, ""), (args, refused.stdout, refused.stderr)
        assert refused.stderr.startswith("pos: "), refused.stderr
        assert said in refused.stderr, (said, refused.stderr)
        assert refused.stderr.count("\n") == 1
    for rate in ("150", "x", "-1"):
        assert _in(shop, "products", "add-tax-class", "z", "Z", rate).returncode == 2
    assert _ok(_in(shop, "products", "list", "--all", "--json")) == before


def test_a_product_added_while_the_store_serves_reaches_the_storefront(store: Store) -> None:
    added = _ok(_in(store.data_dir, "products", "add", "NEW-1", "--name", "Gift card", "--price", "10",
                    "--tax-class", "standard"))  # fmt: skip
    seq = int(added.split("feed seq ")[1].split(")")[0])
    [event] = store.feed(since=seq - 1, count=1)
    assert (event["type"], event["data"]["sku"], event["data"]["changed"][0]) == ("product.changed", "NEW-1", "sku")
    assert event["data"]["price"] == 1000


def test_a_new_store_keeps_its_currency_and_is_never_made_the_demo(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(_in(shop, "store", "init", "--name", "Corner Shop", "--currency", "gbp"))
    _ok(_in(shop, "products", "add-tax-class", "standard", "Standard rate", "20"))
    added = _ok(_in(shop, "products", "add", "TEA", "--name", "Tea", "--price", "3.50", "--tax-class", "standard"))
    assert "  Tea, £3.50, tax class standard" in added
    before = _ok(_in(shop, "products", "list", "--all", "--json"))
    for args, said in [
        (("--demo",), "This database holds the store 'Corner Shop' already; the demo is made only in a new data dir"),
        (("--currency", "EUR"), "The store 'Corner Shop' keeps its accounts in GBP; that cannot change."),
    ]:
        refused = _in(shop, "store", "init", *args)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith(f"pos: {said}"), refused.stderr
        assert refused.stderr.count("\n") == 1
    assert _ok(_in(shop, "products", "list", "--all", "--json")) == before  # no demo products crept in
    demo = _in(tmp_path / "demo", "store", "init", "--demo", "--currency", "GBP")
    assert (demo.returncode, demo.stderr) == (
        1,
        "pos: The demo store keeps its accounts in EUR; leave --currency out for it.\n",
    )
    assert not (tmp_path / "demo").exists()
    unknown = _in(tmp_path / "other", "store", "init", "--currency", "XYZ")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "pos: Unknown currency code 'XYZ'; use an ISO 4217 code such as EUR.\n",
    )
    assert not (tmp_path / "other").exists()


def test_a_catalogue_is_imported_from_a_spreadsheet_all_or_nothing_and_once(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _ok(_in(shop, "store", "init", "--name", "Corner Shop"))
    _ok(_in(shop, "products", "add-tax-class", "standard", "Standard rate", "19"))
    sheet = tmp_path / "catalogue.csv"
    sheet.write_text(
        "\ufeffSKU,Name,Price,Tax_Class,Barcode,Category,Sold_By,Tare_Grams,On_Hand\r\n"  # as a spreadsheet saves it
        "TEA-1,Tea 80 bags,3.20,standard,4006381333931,Drinks,,,24\r\n"
        '"APPLES","Apples, Braeburn",2.99,standard,,Fruit,weight,12,5000\r\n'
        "CARD,Gift card,10,standard,,,,,\r\n"
        "\r\n",
        encoding="utf-8",
    )
    said = _ok(_in(shop, "products", "import", str(sheet)))
    assert said == f"Added 3 products from {sheet}, 2 with opening stock (feed seq 5).\n"
    assert _ok(_in(shop, "products", "import", str(sheet))) == f"{sheet} was imported already; nothing changed.\n"
    assert _ok(_in(shop, "products", "list")).splitlines() == [
        "APPLES  Apples, Braeburn, €2.99/kg (tare 12 g), tax class standard, barcode -, category Fruit, sold",
        "CARD    Gift card, €10.00, tax class standard, barcode -, category -, sold",
        "TEA-1   Tea 80 bags, €3.20, tax class standard, barcode 4006381333931, category Drinks, sold",
    ]
    levels = [json.loads(line) for line in _ok(_in(shop, "stock", "show", "TEA-1", "APPLES", "--json")).splitlines()]
    assert [(lv["sku"], lv["on_hand"]) for lv in levels] == [("APPLES", 5000), ("TEA-1", 24)]

    before = _ok(_in(shop, "products", "list", "--all", "--json"))
    unreadable = tmp_path / "unreadable.csv"
    unreadable.write_text(
        "sku,name,price,tax_class,sold_by,on_hand\nA1,Thing,1.2.3,standard,,\nA2,Other,2,standard,litre,\n"
        "A3,Third,3,standard,,-4\nA4,Fourth,4,standard\n"
    )
    refused = _in(shop, "products", "import", str(unreadable))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "line 2: '1.2.3' is not an amount; type digits, e.g. 20.00.",
        "line 3: sold_by must be each or weight, not 'litre'.",
        "line 4: on_hand must be a whole number from 0, not '-4'.",
        "line 5: 4 cells where the first row names 6.",
        f"pos: 4 rows of {unreadable} cannot be read; nothing was added. Mend them and import the file again.",
    ]
    clash = tmp_path / "clash.csv"
    clash.write_text("sku,name,price,tax_class\nNEW-1,New,1,standard\nTEA-1,Tea again,1,standard\n")
    refused = _in(shop, "products", "import", str(clash))
    assert refused.returncode == 1
    assert refused.stderr.startswith("pos: Line 3 (TEA-1): The store has a product with SKU TEA-1 already")
    assert refused.stderr.endswith("Nothing was added; mend it and import again.\n")
    huge = tmp_path / "huge.csv"
    huge.write_text('sku,name,price,tax_class\nA,"' + "x" * 200_000 + '",1,standard\n')
    refused = _in(shop, "products", "import", str(huge))
    assert (refused.returncode, refused.stderr.startswith(f"pos: {huge} cannot be read as CSV")) == (1, True)
    header = tmp_path / "header.csv"
    header.write_text("sku,name,cost\nA,b,1\n")
    refused = _in(shop, "products", "import", str(header))
    assert (refused.returncode, "(the first four are needed); it has sku, name, cost." in refused.stderr) == (1, True)
    assert _ok(_in(shop, "products", "list", "--all", "--json")) == before  # NEW-1 was not added either

    bulk = tmp_path / "bulk.csv"  # more stocked rows than one receipt holds (500 lines)
    bulk.write_text(
        "sku,name,price,tax_class,on_hand\n" + "".join(f"B{n:04d},Bulk {n},1,standard,{n + 1}\n" for n in range(601))
    )
    assert _ok(_in(shop, "products", "import", str(bulk))).startswith(f"Added 601 products from {bulk}, 601 with")
    stocked = [json.loads(line) for line in _ok(_in(shop, "stock", "show", "B0000", "B0600", "--json")).splitlines()]
    assert [lv["on_hand"] for lv in stocked] == [1, 601]
