"""0003 upgrades a store that already sold: old products and lines are sold each, old tenders stay cash,
and the new columns take weighed goods and card details; it downgrades to 0002 and back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade

SALE_ID = "0b7f1c8e-1111-4222-8333-944445555666"
CARD_SALE = "1c8f2d9f-2222-4333-9444-a55556666777"


def _store_at_0002_with_a_sale(url: str) -> None:
    upgrade(url, "0002")
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO store (id, name, currency, prices_include_tax, address_lines, created_at)"
                " VALUES ('s1', 'Shop', 'EUR', true, '[]', '2026-01-01T00:00:00+00:00')",
                "INSERT INTO tax_classes VALUES ('std', 'Standard', 190000)",
                "INSERT INTO products (sku, name, price, tax_class, active) VALUES ('SKU-1', 'Soap', 100, 'std', true)",
                "INSERT INTO sales VALUES (:sale, 'Till 1', 'c7', '2026-01-02T09:00:00+01:00', 'EUR',"
                " true, 100, 16, 100, 0, 'abc123', 1)",
                "INSERT INTO sale_lines VALUES (:sale, 1, 'SKU-1', 'Soap', 1, 100, 100, 'std', 190000)",
                "INSERT INTO sale_tenders VALUES (:sale, 1, 'cash', 100)",
            ):
                conn.execute(text(statement), {"sale": SALE_ID})
    finally:
        db.close()


def _upgraded(url: str) -> None:
    _store_at_0002_with_a_sale(url)
    upgrade(url)
    check(url)
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT sold_by FROM products")).scalar_one() == "each"
            assert conn.execute(text("SELECT sold_by FROM sale_lines")).scalar_one() == "each"
            old = conn.execute(text("SELECT kind, amount, reference, auth_code, card_brand, last4 FROM sale_tenders"))
            assert tuple(old.one()) == ("cash", 100, None, None, None, None)
            conn.execute(
                text(
                    "INSERT INTO products (sku, name, price, tax_class, active, sold_by)"
                    " VALUES ('SKU-2', 'Apples loose', 249, 'std', true, 'weight')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sales VALUES (:sale, 'Till 1', 'c7', '2026-01-03T09:00:00+01:00', 'EUR',"
                    " true, 133, 21, 133, 0, 'def456', 2)"
                ),
                {"sale": CARD_SALE},
            )
            conn.execute(
                text(
                    "INSERT INTO sale_lines VALUES (:sale, 1, 'SKU-2', 'Apples loose', 534, 249, 133, 'std', 190000,"
                    " 'weight')"
                ),
                {"sale": CARD_SALE},
            )
            conn.execute(
                text("INSERT INTO sale_tenders VALUES (:sale, 1, 'card', 133, 'intent-1', 'SA0001', 'VISA', '4727')"),
                {"sale": CARD_SALE},
            )
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE products SET sold_by = 'litre' WHERE sku = 'SKU-1'"))
    finally:
        db.close()


def test_0003_upgrades_a_store_that_sold_sqlite(sqlite_url: str) -> None:
    _upgraded(sqlite_url)


@pytest.mark.postgres
def test_0003_upgrades_a_store_that_sold_postgresql(pg_url: str) -> None:
    _upgraded(pg_url)


def _down_and_up(url: str) -> None:
    _upgraded(url)
    db = open_database(url)
    try:
        command.downgrade(alembic_config(db), "0002")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sale_tenders")).scalar_one() == 2
            columns = conn.execute(text("SELECT * FROM sale_tenders")).keys()
            assert list(columns) == ["sale_id", "tender_no", "kind", "amount"]
    finally:
        db.close()
    upgrade(url)
    check(url)


def test_0003_downgrades_to_0002_and_back_sqlite(sqlite_url: str) -> None:
    _down_and_up(sqlite_url)


@pytest.mark.postgres
def test_0003_downgrades_to_0002_and_back_postgresql(pg_url: str) -> None:
    _down_and_up(pg_url)
