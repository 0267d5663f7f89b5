"""``pos products``: the back office adds products, changes them and lists the catalogue.

Each command opens the store database itself, as ``pos stock`` does, and runs one use case
(``store_server.usecases.products``) in one write transaction: a new or changed product is a
``product.changed`` event, which registers take within 10 seconds (``catalogue.changes``) and
the storefront on the feed. A new product has no stock: book it in with ``pos stock receive``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

from pos_cli.staff import add_staff_arguments, staff_actor, staff_request_id
from pos_cli.stock import AddStoreLocation, run_on_store, write_command

_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,4})?")
_WHOLE = re.compile(r"[0-9]{1,9}")


def add_parser(sub: Any, add_store_location: AddStoreLocation) -> None:
    """Add ``pos products ...`` to the ``pos`` subcommands."""
    products = sub.add_parser("products", help="add products, change them, list the catalogue and its tax classes")
    commands = products.add_subparsers(dest="products_command", required=True, metavar="PRODUCTS_COMMAND")

    add = commands.add_parser(
        "add", help="add a product (no stock yet: pos stock receive); registers take it within 10 s"
    )
    add_store_location(add)
    add.add_argument("sku", metavar="SKU")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--price", required=True, metavar="AMOUNT", help="in the store's currency, e.g. 2.49 (per kg if --by-weight)"
    )
    add.add_argument("--tax-class", required=True, metavar="CODE", help="one of `pos products tax-classes`")
    add.add_argument("--barcode")
    add.add_argument("--category")
    add.add_argument("--by-weight", action="store_true", help="sold by weight: price per kg, quantities in grams")
    add.add_argument(
        "--tare-grams", type=int, default=0, metavar="G", help="a weighed product's container (default: 0)"
    )
    add_staff_arguments(add)

    change = commands.add_parser(
        "set", help="change one product; registers take it within 10 s, the storefront on the feed (product.changed)"
    )
    add_store_location(change)
    change.add_argument("sku", metavar="SKU")
    change.add_argument("--price", metavar="AMOUNT", help="in the store's currency, e.g. 2.49")
    change.add_argument("--name")
    change.add_argument("--barcode", help="'' removes it")
    change.add_argument("--category", help="'' removes it")
    change.add_argument("--tax-class", metavar="CODE")
    sold = change.add_mutually_exclusive_group()
    sold.add_argument("--active", dest="active", action="store_const", const=True, help="sold again")
    sold.add_argument("--inactive", dest="active", action="store_const", const=False, help="no longer sold")
    add_staff_arguments(change)

    imported = commands.add_parser(
        "import",
        help="add many products from a CSV file (with their opening stock); all or nothing",
        description=(
            "Add the products of a CSV file with a header row: sku, name, price, tax_class, and optionally barcode, "
            "category, sold_by (each or weight), tare_grams and on_hand (units, or grams if sold by weight). "
            "Every row is checked first; one bad row and nothing is added. Running the same file again adds nothing."
        ),
    )
    add_store_location(imported)
    imported.add_argument("file", type=Path, metavar="FILE.csv")
    add_staff_arguments(imported, request_id=False)

    listed = commands.add_parser("list", help="the catalogue in SKU order: sold products, or all with --all")
    add_store_location(listed)
    listed.add_argument("--category", help="only this category's")
    listed.add_argument("--all", action="store_true", help="those no longer sold too")
    listed.add_argument("--json", action="store_true", help="one JSON object per product per line")

    taxes = commands.add_parser("tax-classes", help="the store's tax classes: code, name and rate")
    add_store_location(taxes)
    tax = commands.add_parser("add-tax-class", help="add a tax class; registers take it when they next connect")
    add_store_location(tax)
    tax.add_argument("code", help="short code products name, e.g. reduced")
    tax.add_argument("name", help="its name on receipts, e.g. 'Reduced rate 7%%'")
    tax.add_argument("rate", type=tax_rate, metavar="RATE%", help="e.g. 7 or 7%% or 5.5")


def tax_rate(text: str) -> int:
    """A rate typed as percent (``19``, ``19%``, ``5.5``) in parts per million.

    Raises:
        argparse.ArgumentTypeError: not a percentage from 0 to 100 with at most 4 decimals.
    """
    typed = text.strip().removesuffix("%").strip()
    if not _PERCENT.fullmatch(typed) or float(typed) > 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a tax rate; give a percentage from 0 to 100, e.g. 19 or 5.5")
    whole, _, fraction = typed.partition(".")
    return int(whole) * 10_000 + int(fraction.ljust(4, "0") or "0")


def run(args: argparse.Namespace) -> int:
    """Run ``pos products ...``.

    Raises:
        StoreError: the store is missing, or the use case refused (one sentence; nothing was written).
    """
    return run_on_store(args, _COMMANDS[args.products_command])


def _price(db: Any, text: str) -> tuple[int, str]:
    """The amount typed, in minor units, and the store's currency.

    Raises:
        PosError: not an amount; ProductRefused: out of range.
    """
    from pos_core.money import format_money, parse_amount
    from store_server.errors import ProductRefused
    from store_server.usecases.products import MAX_PRICE
    from store_server.usecases.store import load_store

    with db.read() as session:
        currency = load_store(session).currency
    price = parse_amount(text, currency)  # PosError: one sentence
    if not 0 <= price <= MAX_PRICE:
        raise ProductRefused(f"A price must be from 0 to {format_money(MAX_PRICE, currency)}; got {text}.")
    return price, currency


def _is_new_category(db: Any, category: str | None) -> bool:
    from store_server.db.models import Category

    if not (category and category.strip()):
        return False
    with db.read() as session:
        return session.get(Category, category.strip()) is None


def _add(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.products import CreateProduct, create_product

    price, currency = _price(db, args.price)
    new_category = _is_new_category(db, args.category)
    request_id = staff_request_id(args)
    command = CreateProduct(
        request_id,
        staff_actor(args),
        args.sku,
        args.name,
        price,
        args.tax_class,
        args.barcode,
        args.category,
        "weight" if args.by_weight else "each",
        args.tare_grams,
    )
    result, seq = write_command(db, create_product, command)
    done = f"{result.product['sku']} is in the catalogue (feed seq {seq}); book its stock in with `pos stock receive`."
    return _report(result, request_id, done, currency, new_category=new_category)


def _change(db: Any, args: argparse.Namespace) -> int:
    from pos_core.errors import PosError
    from store_server.usecases.products import ChangeProduct, change_product
    from store_server.usecases.store import load_store

    given = (args.price, args.name, args.barcode, args.category, args.tax_class, args.active)
    if all(value is None for value in given):
        raise PosError(
            "Say what to change: --price, --name, --barcode, --category, --tax-class, --active or --inactive."
        )
    if args.price is None:
        with db.read() as session:
            price, currency = None, load_store(session).currency
    else:
        price, currency = _price(db, args.price)
    new_category = _is_new_category(db, args.category)
    request_id = staff_request_id(args)
    command = ChangeProduct(
        request_id,
        staff_actor(args),
        args.sku,
        args.name,
        price,
        args.barcode,
        args.category,
        args.tax_class,
        args.active,
    )
    result, seq = write_command(db, change_product, command)
    sku = result.product["sku"]
    changed = ", ".join(c.replace("_", " ") for c in result.changed)
    done = f"{sku}: changed {changed} (feed seq {seq})." if changed else f"{sku}: it was so already; nothing changed."
    return _report(result, request_id, done, currency, new_category=new_category)


def _report(result: Any, request_id: str, done: str, currency: str, *, new_category: bool) -> int:
    """What ``pos products add`` or ``set`` did (``done``), or that it was a repeat; the product."""
    if result.duplicate:
        print(f"Request {request_id} was already done; nothing changed this time.")
    else:
        print(done)
        if new_category:
            print(f"  {result.product['category']} is a new category (check the spelling if it should not be).")
    print(f"  {describe(result.product, currency)}")
    return 0


def describe(product: dict[str, Any], currency: str) -> str:
    """A product as one line for a person: name, price (per kg if weighed), tax class, barcode,
    category, whether it is sold."""
    from pos_core.money import format_money

    per = "/kg" if product["sold_by"] == "weight" else ""
    tare = f" (tare {product['tare_grams']} g)" if product["tare_grams"] else ""
    sold = "sold" if product["active"] else "not sold"
    return (
        f"{product['name']}, {format_money(product['price'], currency)}{per}{tare}, tax class {product['tax_class']}, "
        f"barcode {product['barcode'] or '-'}, category {product['category'] or '-'}, {sold}"
    )


def _list(db: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from store_server.db.models import ProductRow
    from store_server.usecases.products import product_wire
    from store_server.usecases.store import load_store

    with db.read() as session:
        currency = load_store(session).currency
        query = select(ProductRow).order_by(ProductRow.sku)
        if not args.all:
            query = query.where(ProductRow.active.is_(True))
        if args.category is not None:
            query = query.where(ProductRow.category == args.category.strip())
        products = [product_wire(row) for row in session.scalars(query)]
    if args.json:
        for product in products:
            print(json.dumps(product, ensure_ascii=False))
        return 0
    if not products:
        print("No products" + (f" in category {args.category}" if args.category else "") + ".")
        return 0
    width = max(len(p["sku"]) for p in products)
    for product in products:
        print(f"{product['sku'].ljust(width)}  {describe(product, currency)}")
    return 0


def _tax_classes(db: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from store_server.db.models import TaxClassRow

    with db.read() as session:
        rows = session.scalars(select(TaxClassRow).order_by(TaxClassRow.code)).all()
        classes = [(row.code, row.name, row.rate_ppm) for row in rows]
    if not classes:
        print("No tax classes yet; add one with `pos products add-tax-class CODE NAME RATE%`.")
        return 0
    width = max(len(code) for code, _, _ in classes)
    for code, name, rate_ppm in classes:
        print(f"{code.ljust(width)}  {f'{rate_ppm / 10_000:g} %':>8}  {name}")
    return 0


def _add_tax_class(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.products import create_tax_class

    with db.write() as session:
        added = create_tax_class(session, args.code, args.name, args.rate)
    percent = f"{args.rate / 10_000:g} %"
    if added:
        print(f"Tax class {args.code} ({percent}) added; registers take it when they next connect (restart them).")
    else:
        print(f"Tax class {args.code} ({percent}) was there already; nothing changed.")
    return 0


IMPORT_COLUMNS = ("sku", "name", "price", "tax_class", "barcode", "category", "sold_by", "tare_grams", "on_hand")
REQUIRED_COLUMNS = IMPORT_COLUMNS[:4]
MAX_IMPORT_ERRORS = 20


def _import(db: Any, args: argparse.Namespace) -> int:
    from pos_core.errors import PosError
    from pos_core.money import parse_amount
    from store_server.errors import StoreError
    from store_server.usecases.store import load_store

    try:
        data = args.file.read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise PosError(f"Cannot read {args.file} ({exc.strerror or exc}); check the path.") from None
    except UnicodeDecodeError:
        raise PosError(f"{args.file} is not UTF-8 text; save it from the spreadsheet as CSV UTF-8.") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:  # a field over the csv module's size limit (131,072 characters)
        raise PosError(
            f"{args.file} cannot be read as CSV ({exc}); save it from the spreadsheet as CSV UTF-8."
        ) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise PosError(f"{args.file} is empty; its first row names the columns: {', '.join(REQUIRED_COLUMNS)} ...")
    header = [cell.strip().lower() for cell in rows[0]]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise PosError(
            f"{args.file}'s first row must name its columns once each, from {', '.join(IMPORT_COLUMNS)}"
            f" (the first four are needed); it has {', '.join(header)}."
        )
    with db.read() as session:
        currency = load_store(session).currency
    products, errors = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            errors.append(f"line {number}: {len(row)} cells where the first row names {len(header)}.")
            continue
        cells = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
        try:
            products.append((number, _imported(cells, currency, parse_amount)))
        except (PosError, ValueError) as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        for error in errors[:MAX_IMPORT_ERRORS]:
            print(error, file=sys.stderr)
        more = len(errors) - MAX_IMPORT_ERRORS
        raise PosError(
            f"{len(errors)} rows of {args.file} cannot be read"
            + (f" ({more} more not shown)" if more > 0 else "")
            + "; nothing was added. Mend them and import the file again."
        )
    if not products:
        raise PosError(f"{args.file} has no products under its first row; nothing was added.")
    digest = hashlib.sha256(data).hexdigest()
    try:
        added, seq = write_command(db, _import_all, products, digest, staff_actor(args))
    except StoreError as exc:
        raise PosError(f"{exc} Nothing was added; mend the file and import it again.") from None
    if added == 0:
        print(f"{args.file} was imported already; nothing changed.")
    else:
        stocked = sum(1 for _, (_, on_hand) in products if on_hand)
        print(f"Added {added} products from {args.file}, {stocked} with opening stock (feed seq {seq}).")
    return 0


def _imported(cells: dict[str, str], currency: str, parse_amount: Any) -> tuple[dict[str, Any], int]:
    """A row's product fields and its opening stock.

    Raises:
        PosError, ValueError: a cell that cannot be read, as a sentence.
    """
    sold_by = (cells.get("sold_by") or "each").lower()
    if sold_by not in ("each", "weight"):
        raise ValueError(f"sold_by must be each or weight, not {cells['sold_by']!r}.")
    numbers = {}
    for name in ("tare_grams", "on_hand"):
        text = cells.get(name) or "0"
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"{name} must be a whole number from 0, not {text!r}.")
        numbers[name] = int(text)
    fields = {
        "sku": cells["sku"],
        "name": cells["name"],
        "price": parse_amount(cells["price"], currency),
        "tax_class": cells["tax_class"],
        "barcode": cells.get("barcode") or None,
        "category": cells.get("category") or None,
        "sold_by": sold_by,
        "tare_grams": numbers["tare_grams"],
    }
    return fields, numbers["on_hand"]


def _import_all(session: Any, products: list[tuple[int, tuple[dict[str, Any], int]]], digest: str, actor: str) -> int:
    """Create every product and receive its opening stock, in the caller's transaction; how many
    were new (a product of this very file imported before is a repeat). Request ids come from the
    file's content, so importing it again changes nothing.

    Raises:
        PosError: a row refused, named by its line; the caller's transaction then writes nothing.
    """
    from pos_core.errors import PosError
    from pos_core.inventory import MAX_LINES, StockLine
    from store_server.errors import StoreError
    from store_server.usecases.products import CreateProduct, create_product
    from store_server.usecases.stock_ops import Receive, receive

    added = 0
    for number, (fields, _) in products:
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pos-import:{digest}:{fields['sku']}"))
        try:
            result = create_product(session, CreateProduct(request_id, actor, **fields))
        except StoreError as exc:
            raise PosError(
                f"Line {number} ({fields['sku']}): {exc} Nothing was added; mend it and import again."
            ) from None
        added += not result.duplicate
    stock = [StockLine(fields["sku"], on_hand) for _, (fields, on_hand) in products if on_hand]
    for start in range(0, len(stock), MAX_LINES):  # a receipt holds at most MAX_LINES lines
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pos-import:{digest}:stock:{start}"))
        receive(session, Receive(request_id, actor, tuple(stock[start : start + MAX_LINES])))
    return added


_COMMANDS = {
    "import": _import,
    "add": _add,
    "set": _change,
    "list": _list,
    "tax-classes": _tax_classes,
    "add-tax-class": _add_tax_class,
}
