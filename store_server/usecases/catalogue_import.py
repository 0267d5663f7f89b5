"""Loading a large catalogue at once: products with their opening stock, in bulk.

``store.load_seed`` adds products one by one through the ORM, which is right for a demo of a
few hundred. A catalogue of 100,000 SKUs (a benchmark, an import from another system) goes
in here with one ``executemany`` per table: the products, one ``receive`` movement from the
supplier per SKU with stock, and its level row, so the ledger's sums equal the levels from the
first row on. No feed events are written, as for any opening stock (docs/protocol.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pos_core.inventory import Reason
from pos_core.weight import SoldBy, tare_problem
from store_server.db.models import Category, ProductRow, StockLevel, StockMovement
from store_server.errors import ProductRefused
from store_server.usecases.clock import now_iso
from store_server.usecases.rows import fetch_all, insert_rows
from store_server.usecases.stock import DEFAULT_LOCATION, ON_HAND, SUPPLIER

CHUNK = 5_000
"""Rows per ``executemany``, so memory stays flat however large the catalogue."""


@dataclass(frozen=True, slots=True)
class ImportedProduct:
    sku: str
    barcode: str | None
    name: str
    category: str | None
    price: int
    tax_class: str
    on_hand: int
    """Opening stock (grams for a product sold by weight); 0 for none."""
    sold_by: SoldBy = "each"
    tare_grams: int = 0
    """A weighed product's container, taken off by the scale; 0 for none."""


def import_products(session: Session, products: Sequence[ImportedProduct], *, safety_stock: int = 0) -> None:
    """Add ``products`` and their opening stock at the default location, in the caller's transaction.

    The SKUs, barcodes, tax classes and categories must be new, known and new respectively
    (the database refuses duplicates); categories are created here.

    Args:
        safety_stock: the resolved safety stock written on each new level row (the store's
            default; the products and categories imported set none of their own).

    Raises:
        ProductRefused: a product has a tare but is sold each, or a tare that is not whole grams
            from 0 to 2,000; the sentence names the first such product, and nothing is written.
    """
    for number, p in enumerate(products, start=1):  # all checked before the first row is written
        if problem := tare_problem(p.tare_grams, p.sold_by):
            raise ProductRefused(f"Nothing was imported: product {number} ({p.sku}): {problem[0].lower()}{problem[1:]}")
    known = {name for (name,) in fetch_all(session, "SELECT name FROM categories", {})}
    categories = sorted({p.category for p in products if p.category and p.category not in known})
    insert_rows(session, Category, [{"name": name, "safety_stock": None} for name in categories])
    at = now_iso()
    for start in range(0, len(products), CHUNK):
        chunk = products[start : start + CHUNK]
        insert_rows(session, ProductRow, [_product(p) for p in chunk])
        stocked = [p for p in chunk if p.on_hand > 0]
        insert_rows(session, StockMovement, [_receipt(p, at) for p in stocked])
        levels = [
            {
                "sku": p.sku,
                "location": DEFAULT_LOCATION,
                "on_hand": p.on_hand,
                "reserved": 0,
                "safety_stock": safety_stock,
            }
            for p in stocked
        ]
        insert_rows(session, StockLevel, levels)


def _product(p: ImportedProduct) -> dict[str, object]:
    return {
        "sku": p.sku,
        "barcode": p.barcode,
        "name": p.name,
        "category": p.category,
        "price": p.price,
        "tax_class": p.tax_class,
        "active": True,
        "safety_stock": None,
        "sold_by": p.sold_by,
        "tare_grams": p.tare_grams,
    }


def _receipt(p: ImportedProduct, at: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "sku": p.sku,
        "location": DEFAULT_LOCATION,
        "quantity": p.on_hand,
        "from_bucket": SUPPLIER,
        "to_bucket": ON_HAND,
        "reason": Reason.RECEIVE,
        "document_type": "import",
        "document_id": "opening-stock",
        "idempotency_key": f"import:{p.sku}",
        "created_at": at,
        "occurred_at": at,
        "actor": "system:import",
        "absorbed_by_count": None,
    }
