"""The catalogue as registers page through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.json_text import parse
from pos_core.weight import SoldBy, tare_problem
from store_server.db.models import Category, FeedEventRow, ProductRow, TaxClassRow
from store_server.errors import StoreError
from store_server.usecases.feed import log_position

CHANGES_LIMIT = 500
"""``product.changed`` events one ``catalogue_changes`` reads at most; the register asks again."""
PAGE_FIELDS = ("sku", "barcode", "name", "price", "tax_class", "category", "sold_by", "tare_grams")
"""A product as a register's catalogue page carries it."""
_BEFORE_WEIGHT = {"sold_by": "each", "tare_grams": 0}
"""What a ``product.changed`` written before weighed goods existed leaves out."""


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


@dataclass(frozen=True, slots=True)
class CatalogueChanges:
    """What changed in the catalogue since a register read it."""

    products: list[dict[str, Any]]
    """Products changed and on sale, as a catalogue page carries them (their latest state)."""
    removed: list[str]
    """SKUs no longer sold."""
    next: int
    """The feed seq to ask after next time."""
    epoch: str
    reload: bool
    """The changes since ``after`` cannot be told (another epoch, or its events pruned): read
    the whole catalogue again, then ask after ``next``."""


def catalogue_changes(
    session: Session, after: int | None, epoch: str | None, limit: int = CHANGES_LIMIT
) -> CatalogueChanges:
    """The products changed after feed seq ``after`` of ``epoch``, from the ``product.changed``
    events; with ``after`` None, only where the log stands (read it before the catalogue's
    pages, then ask after it: a change in between comes twice, harmlessly)."""
    position = log_position(session)
    latest = position.latest_seq
    if after is None:
        return CatalogueChanges([], [], latest, position.epoch, False)
    if (epoch is not None and epoch != position.epoch) or after > latest or after + 1 < position.oldest_seq:
        return CatalogueChanges([], [], latest, position.epoch, True)
    rows = session.execute(
        select(FeedEventRow.seq, FeedEventRow.payload)
        .where(FeedEventRow.seq > after, FeedEventRow.seq <= latest, FeedEventRow.type == "product.changed")
        .order_by(FeedEventRow.seq)
        .limit(limit)
    ).all()
    changed: dict[str, dict[str, Any]] = {}
    for _, payload in rows:
        data = parse(payload)
        changed.pop(data["sku"], None)  # in the order of each product's last change
        changed[data["sku"]] = data
    return CatalogueChanges(
        [{f: data.get(f, _BEFORE_WEIGHT.get(f)) for f in PAGE_FIELDS} for data in changed.values() if data["active"]],
        sorted(sku for sku, data in changed.items() if not data["active"]),
        rows[-1][0] if len(rows) == limit else latest,
        position.epoch,
        False,
    )


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
