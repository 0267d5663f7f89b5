"""Helpers for migration tests: a database at a revision with some rows, and reading it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from store_server.db.engine import open_database
from store_server.db.migrate import upgrade


def upgraded_with(url: str, revision: str, statements: Sequence[str]) -> None:
    """Upgrade the database at ``url`` to ``revision``, then run ``statements`` in one transaction."""
    upgrade(url, revision)
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        db.close()


def rows(url: str, sql: str) -> list[Any]:
    """Every row of ``sql`` on the database at ``url``."""
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        db.close()
