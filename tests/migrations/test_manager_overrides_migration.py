"""0006 gives cashiers a role (existing ones stay cashiers) and adds the override log; it
downgrades to 0005 and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade

INSERT_CASHIER = "INSERT INTO cashiers (id, name, pin_hash, active) VALUES ('c-1', 'Alex', 'scrypt$x', true)"


def _roles(url: str) -> dict[str, str]:
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return {str(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, role FROM cashiers"))}
    finally:
        db.close()


def _up_down_up(url: str) -> None:
    upgrade(url, "0005")
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text(INSERT_CASHIER))
    finally:
        db.close()
    upgrade(url)
    check(url)
    assert _roles(url) == {"c-1": "cashier"}
    db = open_database(url)
    try:
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE cashiers SET role = 'owner'"))
        command.downgrade(alembic_config(db), "0005")
        assert "overrides" not in inspect(db.engine).get_table_names()
        assert "role" not in {c["name"] for c in inspect(db.engine).get_columns("cashiers")}
    finally:
        db.close()
    upgrade(url)
    check(url)
    assert _roles(url) == {"c-1": "cashier"}


def test_0006_adds_roles_and_the_override_log_and_downgrades_sqlite(sqlite_url: str) -> None:
    _up_down_up(sqlite_url)


@pytest.mark.postgres
def test_0006_adds_roles_and_the_override_log_and_downgrades_postgresql(pg_url: str) -> None:
    _up_down_up(pg_url)
