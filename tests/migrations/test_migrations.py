"""Migrations run on SQLite and PostgreSQL alike, and match the models exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from store_server.db.engine import open_database
from store_server.db.migrate import check, upgrade
from store_server.db.models import Base
from store_server.errors import SchemaDrift


def _upgrade_then_check(url: str) -> None:
    upgrade(url)
    check(url)  # raises on drift
    upgrade(url)  # a second run is a no-op
    db = open_database(url)
    try:
        assert set(inspect(db.engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        db.close()


def _drift(url: str) -> None:
    upgrade(url)
    db = open_database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_stock_movements_occurred_at"))
    db.close()
    with pytest.raises(SchemaDrift, match="write a migration"):
        check(url)


def test_upgrade_then_check_sqlite(sqlite_url: str) -> None:
    _upgrade_then_check(sqlite_url)


def test_check_catches_drift_sqlite(sqlite_url: str) -> None:
    _drift(sqlite_url)


@pytest.mark.postgres
def test_upgrade_then_check_postgresql(pg_url: str) -> None:
    _upgrade_then_check(pg_url)


@pytest.mark.postgres
def test_check_catches_drift_postgresql(pg_url: str) -> None:
    _drift(pg_url)


@pytest.mark.postgres
def test_postgresql_with_foreign_tables_is_refused(pg_url: str) -> None:
    from store_server.errors import NotOurDatabase

    db = open_database(pg_url)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE recipes (id integer primary key)"))
    db.close()
    with pytest.raises(NotOurDatabase):
        upgrade(pg_url)
