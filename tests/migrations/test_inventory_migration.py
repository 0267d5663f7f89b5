"""0002 upgrades a store that already sold: old sales stay recognised, and every sale is an order."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade

SALE_ID = "0b7f1c8e-1111-4222-8333-944445555666"


def _baseline_with_a_sale(url: str) -> None:
    upgrade(url, "0001")
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO store VALUES ('s1', 'Shop', 'EUR', true, '[]', '2026-01-01T00:00:00+00:00')",
                "INSERT INTO feed_state VALUES (1, 'e1', 2)",
                "INSERT INTO locations VALUES ('main', 'Shop floor')",
                "INSERT INTO tax_classes VALUES ('std', 'Standard', 190000)",
                "INSERT INTO products VALUES ('SKU-1', NULL, 'Soap', NULL, 100, 'std', true)",
                "INSERT INTO stock_movements VALUES ('m1', 'SKU-1', 'main', 5, 'supplier', 'on_hand', 'receive',"
                " 'seed', 'opening-stock', 'seed:SKU-1', '2026-01-01T00:00:00+00:00')",
                "INSERT INTO sales VALUES (:sale, 'Till 1', 'cashier-7', '2026-01-02T09:00:00+01:00', 'EUR',"
                " true, 100, 16, 100, 0, 'abc123', 1)",
                "INSERT INTO stock_movements VALUES ('m2', 'SKU-1', 'main', 1, 'on_hand', 'customer', 'sale',"
                " 'sale', :sale, :key, '2026-01-02T08:00:01+00:00')",
            ):
                conn.execute(text(statement), {"sale": SALE_ID, "key": f"sale:{SALE_ID}:1"})
    finally:
        db.close()


def _upgraded(url: str) -> None:
    _baseline_with_a_sale(url)
    upgrade(url)
    check(url)
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            movements = conn.execute(text("SELECT id, actor, occurred_at FROM stock_movements ORDER BY id")).all()
            request = conn.execute(text("SELECT key, kind, payload_hash, result FROM requests")).one()
            order = conn.execute(text("SELECT id, channel, status, source FROM orders")).one()
            safety = conn.execute(text("SELECT safety_stock FROM store")).scalar_one()
    finally:
        db.close()
    assert [tuple(m) for m in movements] == [
        ("m1", "system", "2026-01-01T00:00:00+00:00"),
        ("m2", "cashier:cashier-7", "2026-01-02T08:00:01+00:00"),
    ]
    assert request[:3] == (SALE_ID, "sale.submit", "abc123")
    assert json.loads(request[3]) == {"sale_id": SALE_ID, "seq": 1}
    assert tuple(order) == (SALE_ID, "in_store", "completed", "Till 1")
    assert safety == 0


def test_upgrade_keeps_old_sales_recognised_sqlite(sqlite_url: str) -> None:
    _upgraded(sqlite_url)


@pytest.mark.postgres
def test_upgrade_keeps_old_sales_recognised_postgresql(pg_url: str) -> None:
    _upgraded(pg_url)


def _down_and_up(url: str) -> None:
    _baseline_with_a_sale(url)
    upgrade(url)
    db = open_database(url)
    try:
        command.downgrade(alembic_config(db), "0001")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM stock_movements")).scalar_one() == 2
    finally:
        db.close()
    upgrade(url)
    check(url)


def test_downgrade_to_the_baseline_and_back_sqlite(sqlite_url: str) -> None:
    _down_and_up(sqlite_url)


@pytest.mark.postgres
def test_downgrade_to_the_baseline_and_back_postgresql(pg_url: str) -> None:
    _down_and_up(pg_url)
