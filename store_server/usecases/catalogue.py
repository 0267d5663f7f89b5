"""The catalogue as registers page through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.weight import SoldBy, tare_problem
from store_server.db.models import Category, ProductRow, TaxClassRow
from store_server.errors import StoreError


@dataclass(frozen=True, slots=True)
class CataloguePage:
    products: list[dict[str, Any]]
    next: str | None
    """The ``after`` for the next page, or None at the end."""


def catalogue_page(session: Session, after: str, limit: int) -> CataloguePage:
    """Active products in SKU order after ``after`` (empty for the start)."""
    rows = list(
        session.scalars(
            select(ProductRow)
            .where(ProductRow.active.is_(True), ProductRow.sku > after)
            .order_by(ProductRow.sku)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    products = [
        {
            "sku": p.sku,
            "barcode": p.barcode or "",
            "name": p.name,
            "price": p.price,
            "tax_class": p.tax_class,
            "category": p.category or "",
            "sold_by": p.sold_by,
            "tare_grams": p.tare_grams,
        }
        for p in rows
    ]
    return CataloguePage(products, rows[-1].sku if more else None)


def add_tax_class(session: Session, code: str, name: str, rate_ppm: int) -> None:
    session.add(TaxClassRow(code=code, name=name, rate_ppm=rate_ppm))


def add_category(session: Session, name: str) -> None:
    if session.get(Category, name) is None:
        session.add(Category(name=name))


def add_product(
    session: Session,
    *,
    sku: str,
    barcode: str | None,
    name: str,
    category: str | None,
    price: int,
    tax_class: str,
    sold_by: SoldBy = "each",
    tare_grams: int = 0,
) -> None:
    """Add a product (its category is created when missing).

    Args:
        price: minor units per piece, or per kilogram when ``sold_by`` is ``weight`` (then the
            SKU's stock and sale quantities are grams).
        tare_grams: a weighed product's container, which the scale takes off; 0 for none.

    Raises:
        StoreError: a tare on a product sold each, or not whole grams from 0 to 2,000; nothing is
            added. (Not a ``RequestRefused``: no register or storefront request adds products.)
    """
    if problem := tare_problem(tare_grams, sold_by):
        raise StoreError(f"{sku}: {problem}")
    if category:
        add_category(session, category)
    session.add(
        ProductRow(
            sku=sku,
            barcode=barcode or None,
            name=name,
            category=category or None,
            price=price,
            tax_class=tax_class,
            sold_by=sold_by,
            tare_grams=tare_grams,
        )
    )
    session.flush()
