"""0007 gives products a preset tare (existing ones have none), refuses a tare on a product sold
each, a negative or an absurd one, and downgrades to 0006 and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade
from tests.migrations.support import rows, upgraded_with

SETUP = (
    "INSERT INTO tax_classes VALUES ('reduced', 'Reduced', 70000)",
    "INSERT INTO products (sku, name, price, tax_class, active, sold_by)"
    " VALUES ('SKU-1', 'Soap', 100, 'reduced', true, 'each')",
    "INSERT INTO products (sku, name, price, tax_class, active, sold_by)"
    " VALUES ('SKU-2', 'Mixed olives (deli tub)', 1990, 'reduced', true, 'weight')",
)


def _tares(url: str) -> dict[str, int]:
    return {str(sku): int(tare) for sku, tare in rows(url, "SELECT sku, tare_grams FROM products")}


def _up_down_up(url: str) -> None:
    upgraded_with(url, "0006", SETUP)
    upgrade(url)
    check(url)
    assert _tares(url) == {"SKU-1": 0, "SKU-2": 0}
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE products SET tare_grams = 12 WHERE sku = 'SKU-2'"))
        for refused in (
            "UPDATE products SET tare_grams = 12 WHERE sku = 'SKU-1'",  # sold each
            "UPDATE products SET tare_grams = -1 WHERE sku = 'SKU-2'",
            "UPDATE products SET tare_grams = 2001 WHERE sku = 'SKU-2'",
            "UPDATE products SET sold_by = 'each' WHERE sku = 'SKU-2'",  # a tared product stays weighed
        ):
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(text(refused))
        command.downgrade(alembic_config(db), "0006")
        assert "tare_grams" not in {c["name"] for c in inspect(db.engine).get_columns("products")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM products")).scalar_one() == 2
    finally:
        db.close()
    upgrade(url)
    check(url)
    assert _tares(url) == {"SKU-1": 0, "SKU-2": 0}


def test_0007_adds_product_tares_and_downgrades_sqlite(sqlite_url: str) -> None:
    _up_down_up(sqlite_url)


@pytest.mark.postgres
def test_0007_adds_product_tares_and_downgrades_postgresql(pg_url: str) -> None:
    _up_down_up(pg_url)
