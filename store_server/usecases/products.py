"""Price and product changes from the back office: ``product.changed`` with the full product.

A field left None is unchanged. A category change re-resolves the SKU's safety stock.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import FeedState, ProductRow, TaxClassRow
from store_server.errors import ProductRefused, UnknownSku
from store_server.usecases import checks
from store_server.usecases.catalogue import add_category
from store_server.usecases.feed import append_event
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.safety import refresh_safety

MAX_PRICE = 10**12
_BARCODE = re.compile(r"[!-~]{1,64}")
"""A barcode as scanners send it: printable ASCII, no spaces."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FIELDS = ("name", "price", "barcode", "category", "tax_class", "active")


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
    # command as one typed without (a retry is judged on what would be stored).
    cmd = dataclasses.replace(
        cmd,
        name=None if cmd.name is None else cmd.name.strip(),
        category=None if cmd.category is None else cmd.category.strip(),
    )

    def run(state: FeedState) -> ProductChanged:
        row = session.get(ProductRow, cmd.sku)
        if row is None:
            raise UnknownSku(f"The store has no product with SKU {cmd.sku}; check the SKU.")
        if cmd.tax_class is not None and session.get(TaxClassRow, cmd.tax_class) is None:
            raise ProductRefused(f"There is no tax class {cmd.tax_class!r}; pick one the store has.")
        if cmd.barcode:
            holder = session.scalar(select(ProductRow.sku).where(ProductRow.barcode == cmd.barcode))
            if holder is not None and holder != row.sku:
                raise ProductRefused(f"Barcode {cmd.barcode} already belongs to {holder}; remove it there first.")
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

    return run_once(session, command_request("product.change", cmd), ProductChanged, run)


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
