"""The store itself: setting it up, and what registers are told about it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pos_core.money import exponent
from pos_core.tax import TaxClass
from pos_core.weight import SoldBy
from store_server.db.engine import Database, open_database
from store_server.db.migrate import upgrade_database
from store_server.db.models import FeedState, Location, ProductRow, Store, TaxClassRow
from store_server.demo_catalogue import demo_store
from store_server.errors import StoreError, StoreNotInitialised
from store_server.usecases.cashiers import CASHIER, MANAGER, add_cashier
from store_server.usecases.catalogue import add_category, add_product, add_tax_class
from store_server.usecases.clock import now_iso
from store_server.usecases.feed import FEED_STATE_ID
from store_server.usecases.stock import DEFAULT_LOCATION, ON_HAND, SUPPLIER, Move, record_movement

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreInfo:
    id: str
    name: str
    currency: str
    prices_include_tax: bool
    address_lines: tuple[str, ...]
    tax_classes: tuple[TaxClass, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "prices_include_tax": self.prices_include_tax,
            "address_lines": list(self.address_lines),
        }


class SeedProduct(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def barcode(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def price(self) -> int: ...
    @property
    def tax_class(self) -> str: ...
    @property
    def on_hand(self) -> int: ...
    @property
    def sold_by(self) -> SoldBy: ...


class StoreSeed(Protocol):
    """What a store is set up from: the shape of ``store_server.demo_catalogue.DemoStore``."""

    @property
    def name(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def prices_include_tax(self) -> bool: ...
    @property
    def address_lines(self) -> Sequence[str]: ...
    @property
    def tax_classes(self) -> Sequence[tuple[str, str, int]]: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def products(self) -> Sequence[SeedProduct]: ...
    @property
    def cashiers(self) -> Sequence[tuple[str, str]]: ...


def demo_seed() -> StoreSeed:
    """The demo store from ``store_server.demo_catalogue``."""
    return demo_store()


def load_store(session: Session) -> StoreInfo:
    """The store's identity and tax classes.

    Raises:
        StoreNotInitialised: there is no store row yet, or not even the store's tables.
    """
    try:
        store = session.scalars(select(Store)).first()
    except DBAPIError as exc:
        if not _no_table(exc):
            raise
        raise StoreNotInitialised("This database") from None
    if store is None:
        raise StoreNotInitialised("This database")
    classes = session.scalars(select(TaxClassRow).order_by(TaxClassRow.code))
    return StoreInfo(
        id=store.id,
        name=store.name,
        currency=store.currency,
        prices_include_tax=store.prices_include_tax,
        address_lines=tuple(json.loads(store.address_lines)),
        tax_classes=tuple(TaxClass(c.code, c.name, c.rate_ppm) for c in classes),
    )


def _no_table(exc: DBAPIError) -> bool:
    """Whether the database said it has no such table (SQLite's words, PostgreSQL's 42P01)."""
    return getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in str(exc.orig)


def create_store(
    session: Session,
    *,
    name: str,
    currency: str = "EUR",
    prices_include_tax: bool = True,
    address_lines: Sequence[str] = (),
) -> None:
    """Create the store row, a fresh feed epoch and the default location, where missing."""
    if session.scalars(select(Store)).first() is None:
        session.add(
            Store(
                id=str(uuid.uuid4()),
                name=name,
                currency=currency,
                prices_include_tax=prices_include_tax,
                address_lines=json.dumps(list(address_lines)),
                created_at=now_iso(),
            )
        )
    if session.get(FeedState, FEED_STATE_ID) is None:
        session.add(FeedState(id=FEED_STATE_ID, epoch=str(uuid.uuid4()), last_seq=0))
    if session.get(Location, DEFAULT_LOCATION) is None:
        session.add(Location(code=DEFAULT_LOCATION, name="Shop floor"))
    session.flush()


def load_seed(session: Session, seed: StoreSeed) -> None:
    """Load tax classes, categories, products (stock received from the supplier) and cashiers."""
    for code, tax_name, rate_ppm in seed.tax_classes:
        if session.get(TaxClassRow, code) is None:
            add_tax_class(session, code, tax_name, rate_ppm)
    for category in seed.categories:
        add_category(session, category)
    session.flush()
    for p in seed.products:
        add_product(
            session,
            sku=p.sku,
            barcode=p.barcode,
            name=p.name,
            category=p.category,
            price=p.price,
            tax_class=p.tax_class,
            sold_by=p.sold_by,
            tare_grams=getattr(p, "tare_grams", 0),  # optional: a seed's product without it has no tare
        )
        if p.on_hand > 0:  # grams for a product sold by weight
            record_movement(
                session,
                Move(p.sku, p.on_hand, SUPPLIER, ON_HAND, "receive", "seed", "opening-stock", f"seed:{p.sku}"),
            )
    managers = set(getattr(seed, "managers", ()))  # optional: a seed without it has no managers
    for cashier_name, pin in seed.cashiers:
        add_cashier(session, cashier_name, pin, role=MANAGER if cashier_name in managers else CASHIER)


def init_store(
    url: str, *, demo: bool, name: str = "My Store", seed: StoreSeed | None = None, currency: str | None = None
) -> StoreInfo:
    """Migrate the database and set up the store; safe to run again.

    Args:
        url: the database URL.
        demo: load the demo store when the catalogue is empty.
        name: the store's name when not loading a seed.
        seed: load this instead of the demo store (used by tests and imports).
        currency: a new store's currency (ISO 4217; default EUR); for a store that exists, it
            must be the store's.

    Raises:
        NotOurDatabase: the database belongs to something else; it is left untouched.
        StoreError: the demo (or a seed) asked for on a database that holds another store, or
            another currency than the store's; nothing is written.
    """
    db = open_database(url)
    try:
        return init_database(db, demo=demo, name=name, seed=seed, currency=currency)
    finally:
        db.close()


def check_currency(currency: str | None, seed: StoreSeed | None) -> None:
    """Refuse, before anything is made, a currency we do not know or another than the seed's.

    Raises:
        PosError: an unknown ISO 4217 code; StoreError: a seed (the demo) in another currency.
    """
    if currency is None:
        return
    exponent(currency)  # PosError: a currency code we do not know
    if seed is not None and seed.currency != currency:
        raise StoreError(f"The demo store keeps its accounts in {seed.currency}; leave --currency out for it.")


def init_database(
    db: Database, *, demo: bool, name: str = "My Store", seed: StoreSeed | None = None, currency: str | None = None
) -> StoreInfo:
    """``init_store`` on an already open database."""
    if seed is None and demo:
        seed = demo_seed()
    check_currency(currency, seed)
    upgrade_database(db)
    with db.write() as session:
        existing = session.scalars(select(Store)).first()
        if existing is not None and seed is not None and existing.name != seed.name:
            raise StoreError(
                f"This database holds the store {existing.name!r} already; the demo is made only in a new"
                " data dir (pass another --data-dir)."
            )
        wanted = currency or (seed.currency if seed is not None else None)
        if existing is not None and wanted is not None and existing.currency != wanted:
            raise StoreError(
                f"The store {existing.name!r} keeps its accounts in {existing.currency}; that cannot change."
            )
        if seed is not None:
            create_store(
                session,
                name=seed.name,
                currency=seed.currency,
                prices_include_tax=seed.prices_include_tax,
                address_lines=seed.address_lines,
            )
            if session.scalars(select(ProductRow).limit(1)).first() is None:
                load_seed(session, seed)
                log.info("loaded %d products and %d cashiers", len(seed.products), len(seed.cashiers))
        else:
            create_store(session, name=name, currency=currency or "EUR")
        return load_store(session)
