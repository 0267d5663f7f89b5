"""A store to run inventory use cases against, on SQLite or PostgreSQL, and what to look at in it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text, update

from pos_core.inventory import Level, StockLine
from pos_core.sale import Sale
from store_server.db.engine import Database, open_database
from store_server.db.models import Base, FeedEventRow, InventoryException, StockLevel, StockMovement
from store_server.usecases.sales import SaleAccepted, payload_hash, submit_sale
from store_server.usecases.store import init_database
from store_server.usecases.transfers import add_location
from tests.server.support import SEED, make_sale

T = TypeVar("T")
BACKROOM = "backroom"
MANAGER = "manager:ann"
WEB = "storefront:web"
OPENED_AT = "2026-01-01T08:00:00.000000+00:00"
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""Parametrize a ``shop`` fixture over both databases."""


def rid() -> str:
    """A fresh client-made request id."""
    return str(uuid.uuid4())


def lines(*items: tuple[str, int]) -> tuple[StockLine, ...]:
    return tuple(StockLine(sku, q) for sku, q in items)


@dataclass
class Shop:
    """The test store (``tests.server.support.SEED``, plus a back room) on one database."""

    db: Database

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a use case in its own write transaction, as the server does."""
        with self.db.write() as session:
            return fn(session, *args, **kwargs)

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        with self.db.read() as session:
            return fn(session, *args)

    def sell(self, *items: tuple[str, int], created_at: str | None = None, sale_id: str | None = None) -> SaleAccepted:
        wire = make_sale(list(items), sale_id=sale_id)
        if created_at is not None:
            wire["created_at"] = created_at
        sale = Sale.from_wire(wire)
        return self.write(submit_sale, sale, payload_hash(sale))

    def level(self, sku: str, location: str = "main") -> Level:
        with self.db.read() as s:
            row = s.get(StockLevel, (sku, location))
            return Level(row.on_hand, row.reserved, row.safety_stock) if row else Level(0, 0, 0)

    def events(self, after: int = 0) -> list[tuple[str, dict[str, Any]]]:
        with self.db.read() as s:
            rows = s.scalars(select(FeedEventRow).where(FeedEventRow.seq > after).order_by(FeedEventRow.seq))
            return [(r.type, json.loads(r.payload)) for r in rows]

    def last_seq(self) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.max(FeedEventRow.seq))) or 0)

    def movements(self, sku: str | None = None) -> list[StockMovement]:
        with self.db.read() as s:
            query = select(StockMovement).order_by(StockMovement.created_at, StockMovement.idempotency_key)
            if sku is not None:
                query = query.where(StockMovement.sku == sku)
            rows = list(s.scalars(query))
            s.expunge_all()  # keep the loaded rows readable after the read rolls back
            return rows

    def open_exceptions(self) -> list[InventoryException]:
        with self.db.read() as s:
            rows = list(s.scalars(select(InventoryException).where(InventoryException.status == "open")))
            s.expunge_all()
            return rows

    def fingerprint(self) -> dict[str, Any]:
        """Row counts of every table and every level: equal fingerprints mean nothing changed."""
        with self.db.read() as s:
            counts = {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
            levels = sorted(
                (lv.sku, lv.location, lv.on_hand, lv.reserved, lv.safety_stock) for lv in s.scalars(select(StockLevel))
            )
            return {"counts": counts, "levels": levels}


def prepare(db: Database) -> Shop:
    """Empty ``db`` of every row (or migrate it) and set the test store up in it."""
    _wipe(db)
    init_database(db, demo=False, seed=SEED)
    with db.write() as session:
        add_location(session, BACKROOM, "Back room")
        # The opening stock was there long before any count a test makes "minutes ago".
        session.execute(update(StockMovement).values(occurred_at=OPENED_AT))
    return Shop(db)


def _wipe(db: Database) -> None:
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        present = set(conn.execute(_table_names(db)).scalars())
        for name in names:
            if name in present:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


def _table_names(db: Database) -> Any:
    if db.is_sqlite:
        return text("SELECT name FROM sqlite_master WHERE type = 'table'")
    return text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


def shop_url(request: pytest.FixtureRequest, kind: str) -> str:
    """A database URL of the given kind for this test (PostgreSQL: a reset schema)."""
    if kind == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    url = request.getfixturevalue("sqlite_url")
    return url


def open_shop(url: str) -> Iterator[Shop]:
    db = open_database(url)
    try:
        yield prepare(db)
    finally:
        db.close()


@pytest.fixture(params=DATABASES)
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    """The test store on SQLite, then on PostgreSQL."""
    yield from open_shop(shop_url(request, request.param))
