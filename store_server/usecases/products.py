"""New products and product changes from the back office: ``product.changed`` with the full product.

A field left None is unchanged. A category change re-resolves the SKU's safety stock. A new
product's event lists every field as changed, ``sku`` first.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.catalogue import gtin_check_digit, is_valid_gtin
from pos_core.weight import SoldBy, tare_problem
from store_server.db.models import FeedState, ProductRow, TaxClassRow
from store_server.errors import ProductRefused, UnknownSku
from store_server.usecases import checks
from store_server.usecases.catalogue import add_category
from store_server.usecases.feed import append_event
from store_server.usecases.requests import command_request, run_once, stored_requests
from store_server.usecases.safety import refresh_safety

MAX_PRICE = 10**12
_BARCODE = re.compile(r"[!-~]{1,64}")
"""A barcode as scanners send it: printable ASCII, no spaces."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FIELDS = ("name", "price", "barcode", "category", "tax_class", "active")
ADDED = ("sku", *FIELDS, "sold_by", "tare_grams")
"""``changed`` of a new product's ``product.changed``: every field, ``sku`` first."""
_SKU = re.compile(r"[!-<>-~]{1,64}")
"""A new SKU: printable ASCII without spaces or ``=`` (``pos stock`` takes ``SKU=QTY``)."""


@dataclass(frozen=True, slots=True)
class ChangeProduct:
    """What to change of one product; None leaves a field as it is. An empty ``barcode`` or
    ``category`` removes it."""

    request_id: str
    actor: str
    sku: str
    name: str | None = None
    price: int | None = None
    barcode: str | None = None
    category: str | None = None
    tax_class: str | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class ProductChanged:
    product: dict[str, Any]
    changed: tuple[str, ...]
    """The fields whose value changed."""
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"product": self.product, "changed": list(self.changed)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(data["product"], tuple(data["changed"]))


def product_wire(row: ProductRow) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "barcode": row.barcode or "",
        "name": row.name,
        "category": row.category or "",
        "price": row.price,
        "tax_class": row.tax_class,
        "active": row.active,
        "safety_stock": row.safety_stock,
        "sold_by": row.sold_by,
        "tare_grams": row.tare_grams,
    }


def change_product(session: Session, cmd: ChangeProduct) -> ProductChanged:
    """Change a product's price, name, barcode, category, tax class or whether it is sold.

    Emits ``product.changed`` (the whole product and the changed fields) when anything
    changed, and ``stock.changed`` for levels whose safety stock a new category changes.

    Raises:
        UnknownSku: no such product.
        ProductRefused: a bad price, name or barcode, a barcode another product has, or an
            unknown tax class; nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "request id")
    _check(cmd)
    # A name or category typed with spaces around it: stored without them, and the same
    # command as one typed without (a retry is judged on what would be stored). A change
    # remembered before that rule has the fingerprint of the text as typed: its retry is too.
    typed = command_request("product.change", cmd)
    cmd = dataclasses.replace(
        cmd,
        name=None if cmd.name is None else cmd.name.strip(),
        category=None if cmd.category is None else cmd.category.strip(),
    )
    request = command_request("product.change", cmd)
    stored = stored_requests(session, [cmd.request_id]).get(cmd.request_id)
    if stored is not None and stored[1] == typed.payload_hash:
        request = typed

    def run(state: FeedState) -> ProductChanged:
        row = session.get(ProductRow, cmd.sku)
        if row is None:
            raise UnknownSku(f"The store has no product with SKU {cmd.sku}; check the SKU.")
        if cmd.tax_class is not None and session.get(TaxClassRow, cmd.tax_class) is None:
            raise ProductRefused(_no_tax_class(session, cmd.tax_class))
        if cmd.barcode:
            holder = session.scalar(select(ProductRow.sku).where(ProductRow.barcode == cmd.barcode))
            if holder is not None and holder != row.sku:
                raise ProductRefused(f"Barcode {cmd.barcode} already belongs to {holder}; remove it there first.")
            if holder is None:
                _check_digit(cmd.barcode)
        if cmd.category:
            add_category(session, cmd.category)
            session.flush()
        before = product_wire(row)
        for field in FIELDS:
            value = getattr(cmd, field)
            if value is not None:
                setattr(row, field, (value or None) if field in ("barcode", "category") else value)
        session.flush()
        after = product_wire(row)
        changed = tuple(f for f in FIELDS if before[f] != after[f])
        if changed:
            append_event(session, state, "product.changed", {**after, "changed": list(changed)})
        if "category" in changed:
            refresh_safety(session, state, [row.sku])
        return ProductChanged(after, changed)

    return run_once(session, request, ProductChanged, run)


@dataclass(frozen=True, slots=True)
class CreateProduct:
    """A product new to the store, with no stock yet (book it in with ``receive``)."""

    request_id: str
    actor: str
    sku: str
    name: str
    price: int
    """Minor units per piece, or per kilogram when ``sold_by`` is ``weight``."""
    tax_class: str
    barcode: str | None = None
    category: str | None = None
    sold_by: SoldBy = "each"
    tare_grams: int = 0


def create_product(session: Session, cmd: CreateProduct) -> ProductChanged:
    """Add a product to the catalogue; emits ``product.changed`` with every field as changed.

    Registers take it with ``catalogue.changes``, the storefront on the feed.

    Raises:
        ProductRefused: a bad SKU, name, price, barcode, category, way of selling or tare, a SKU
            or barcode the store has already, or an unknown tax class; nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "request id")
    if not isinstance(cmd.sku, str) or not _SKU.fullmatch(cmd.sku):
        raise ProductRefused("A SKU must be 1 to 64 letters, digits or signs, without spaces or '='.")
    if not isinstance(cmd.name, str) or not cmd.name.strip():
        raise ProductRefused("A product name must be 1 to 200 characters, on one line.")
    _check(ChangeProduct(cmd.request_id, cmd.actor, cmd.sku, cmd.name, cmd.price, cmd.barcode, cmd.category))
    if cmd.sold_by not in ("each", "weight"):
        raise ProductRefused(f"A product is sold each or by weight, not {cmd.sold_by!r}.")
    if problem := tare_problem(cmd.tare_grams, cmd.sold_by):
        raise ProductRefused(problem)
    cmd = dataclasses.replace(
        cmd,
        name=cmd.name.strip(),
        barcode=cmd.barcode or None,
        category=(cmd.category or "").strip() or None,
    )

    def run(state: FeedState) -> ProductChanged:
        existing = session.get(ProductRow, cmd.sku)
        if existing is not None:
            raise ProductRefused(
                f"The store has a product with SKU {cmd.sku} already ({existing.name}); change it instead."
            )
        if session.get(TaxClassRow, cmd.tax_class) is None:
            raise ProductRefused(_no_tax_class(session, cmd.tax_class))
        if cmd.barcode:
            holder = session.scalar(select(ProductRow.sku).where(ProductRow.barcode == cmd.barcode))
            if holder is not None:
                raise ProductRefused(f"Barcode {cmd.barcode} already belongs to {holder}; remove it there first.")
            _check_digit(cmd.barcode)
        if cmd.category:
            add_category(session, cmd.category)
        row = ProductRow(
            sku=cmd.sku,
            barcode=cmd.barcode,
            name=cmd.name,
            category=cmd.category,
            price=cmd.price,
            tax_class=cmd.tax_class,
            active=True,
            safety_stock=None,
            sold_by=cmd.sold_by,
            tare_grams=cmd.tare_grams,
        )
        session.add(row)
        session.flush()
        product = product_wire(row)
        append_event(session, state, "product.changed", {**product, "changed": list(ADDED)})
        return ProductChanged(product, ADDED)

    return run_once(session, command_request("product.add", cmd), ProductChanged, run)


def _no_tax_class(session: Session, code: str) -> str:
    """The refusal of a tax class the store does not have, naming those it has (or how to add one)."""
    codes = list(session.scalars(select(TaxClassRow.code).order_by(TaxClassRow.code)))
    if not codes:
        return f"There is no tax class {code!r}: the store has none yet; add one first (pos products add-tax-class)."
    return f"There is no tax class {code!r}; pick one the store has: {', '.join(codes)}."


def _check_digit(barcode: str) -> None:
    """Refuse a GTIN (8, 12, 13 or 14 digits: EAN, UPC) whose check digit is wrong: no scanner
    would read it, so the product could only be rung up by hand. Other codes (a shop's own
    short numbers, letters) are taken as they are.

    Raises:
        ProductRefused: the last digit is not the check digit of the others.
    """
    if barcode.isascii() and barcode.isdigit() and len(barcode) in (8, 12, 13, 14) and not is_valid_gtin(barcode):
        right = gtin_check_digit(barcode[:-1])
        raise ProductRefused(
            f"Barcode {barcode} is not a valid EAN/UPC: its last digit should be {right}; check the number on the pack."
        )


def _check(cmd: ChangeProduct) -> None:
    if cmd.name is not None and (not 0 < len(cmd.name.strip()) <= 200 or _CONTROL.search(cmd.name)):
        raise ProductRefused("A product name must be 1 to 200 characters, on one line.")
    if cmd.price is not None and (type(cmd.price) is not int or not 0 <= cmd.price <= MAX_PRICE):
        raise ProductRefused(f"A price must be a whole number of minor units from 0 to {MAX_PRICE}.")
    if cmd.barcode and not _BARCODE.fullmatch(cmd.barcode):
        raise ProductRefused("A barcode must be 1 to 64 letters, digits or signs, without spaces ('' removes it).")
    if cmd.category and (not 0 < len(cmd.category.strip()) <= 200 or _CONTROL.search(cmd.category)):
        raise ProductRefused("A category name must be 1 to 200 characters, on one line ('' removes it).")
    if cmd.active is not None and not isinstance(cmd.active, bool):
        raise ProductRefused("'active' must be true or false.")


_TAX_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def create_tax_class(session: Session, code: str, name: str, rate_ppm: int) -> bool:
    """Add a tax class (``rate_ppm``: parts per million, 190,000 for 19 %); False if it is there
    already with that name and rate. A register gets the store's classes when it connects
    (``welcome``): one already running takes a new class when it connects again.

    Raises:
        ProductRefused: a bad code, name or rate, or the code taken with another name or rate
            (sales keep the rate they were made at, so a rate is not changed in place).
    """
    if not isinstance(code, str) or not _TAX_CODE.fullmatch(code):
        raise ProductRefused("A tax class code is 1 to 32 small letters, digits, '-' or '_', e.g. reduced.")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200 or _CONTROL.search(name):
        raise ProductRefused("A tax class name must be 1 to 200 characters, on one line.")
    if type(rate_ppm) is not int or not 0 <= rate_ppm <= 1_000_000:
        raise ProductRefused("A tax rate must be from 0 to 100 %.")
    existing = session.get(TaxClassRow, code)
    if existing is not None:
        if (existing.name, existing.rate_ppm) == (name.strip(), rate_ppm):
            return False
        raise ProductRefused(
            f"Tax class {code} is there already ({existing.name}, {existing.rate_ppm / 10_000:g} %) and is not"
            " changed here (sales keep the class they were made with); add a class with a new code."
        )
    session.add(TaxClassRow(code=code, name=name.strip(), rate_ppm=rate_ppm))
    session.flush()
    return True
