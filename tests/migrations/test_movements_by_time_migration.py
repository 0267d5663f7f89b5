"""0008 swaps the movements' index by SKU for one by ``occurred_at``, keeps every movement, and
downgrades to 0007 and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade
from tests.migrations.support import rows, upgraded_with

SETUP = (
    "INSERT INTO locations (code, name) VALUES ('main', 'Shop floor')",
    "INSERT INTO tax_classes VALUES ('reduced', 'Reduced', 70000)",
    "INSERT INTO products (sku, name, price, tax_class, active, sold_by)"
    " VALUES ('SKU-1', 'Soap', 100, 'reduced', true, 'each')",
    "INSERT INTO stock_movements (id, sku, location, quantity, from_bucket, to_bucket, reason, document_type,"
    " document_id, idempotency_key, created_at, occurred_at, actor) VALUES"
    " ('00000000-0000-7000-8000-000000000001', 'SKU-1', 'main', 5, 'supplier', 'on_hand', 'receive',"
    " 'receipt', 'r-1', 'r-1:SKU-1', '2026-11-27T09:00:00+00:00', '2026-11-27T09:00:00+00:00', 'manager:test')",
)
MOVEMENT_INDEXES_0007 = {"ix_stock_movements_sku"}
MOVEMENT_INDEXES_0008 = {"ix_stock_movements_occurred_at"}


def _indexes(url: str) -> set[str]:
    db = open_database(url)
    try:
        found = {str(ix["name"]) for ix in inspect(db.engine).get_indexes("stock_movements")}
        return found & (MOVEMENT_INDEXES_0007 | MOVEMENT_INDEXES_0008)
    finally:
        db.close()


def _movements(url: str) -> int:
    return int(rows(url, "SELECT count(*) FROM stock_movements")[0][0])


def _up_down_up(url: str) -> None:
    upgraded_with(url, "0007", SETUP)
    assert _indexes(url) == MOVEMENT_INDEXES_0007
    upgrade(url)
    check(url)
    assert _indexes(url) == MOVEMENT_INDEXES_0008
    assert _movements(url) == 1
    db = open_database(url)
    try:
        command.downgrade(alembic_config(db), "0007")
    finally:
        db.close()
    assert _indexes(url) == MOVEMENT_INDEXES_0007
    assert _movements(url) == 1
    upgrade(url)
    check(url)
    assert _indexes(url) == MOVEMENT_INDEXES_0008


def test_0008_indexes_movements_by_time_and_downgrades_sqlite(sqlite_url: str) -> None:
    _up_down_up(sqlite_url)


@pytest.mark.postgres
def test_0008_indexes_movements_by_time_and_downgrades_postgresql(pg_url: str) -> None:
    _up_down_up(pg_url)
