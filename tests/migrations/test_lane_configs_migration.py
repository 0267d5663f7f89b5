"""0005 adds the lane settings table; it downgrades to 0004 and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade


def _down_and_up(url: str) -> None:
    upgrade(url, "0005")
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO lane_configs (lane, document, version, changed_by, changed_at)"
                    " VALUES ('Till 1', '{}', 1, 'installer:sam', '2026-01-01T00:00:00+00:00')"
                )
            )
        command.downgrade(alembic_config(db), "0004")
        assert "lane_configs" not in inspect(db.engine).get_table_names()
    finally:
        db.close()
    upgrade(url)
    check(url)
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM lane_configs")).scalar_one() == 0
    finally:
        db.close()


def test_0005_downgrades_to_0004_and_back_sqlite(sqlite_url: str) -> None:
    _down_and_up(sqlite_url)


@pytest.mark.postgres
def test_0005_downgrades_to_0004_and_back_postgresql(pg_url: str) -> None:
    _down_and_up(pg_url)
