"""0004 gives credentials scopes: a storefront token issued before keeps every storefront scope
(it could do everything a storefront could), a register token gets none; it downgrades to 0003
and back."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from pos_core.protocol import STOREFRONT_SCOPES
from store_server.db.engine import open_database
from store_server.db.migrate import alembic_config, check, upgrade

CREDENTIALS = (("c-reg", "register", "Till 1"), ("c-web", "storefront", "web shop"))


def _store_at_0003_with_tokens(url: str) -> None:
    upgrade(url, "0003")
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            for cid, kind, name in CREDENTIALS:
                conn.execute(
                    text(
                        "INSERT INTO credentials (id, kind, name, token_hash, created_at)"
                        " VALUES (:id, :kind, :name, :hash, '2026-01-01T00:00:00+00:00')"
                    ),
                    {"id": cid, "kind": kind, "name": name, "hash": cid * 8},
                )
    finally:
        db.close()


def _scopes(url: str) -> dict[str, str]:
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return {str(row[0]): str(row[1]) for row in conn.execute(text("SELECT id, scopes FROM credentials"))}
    finally:
        db.close()


def _upgraded(url: str) -> None:
    _store_at_0003_with_tokens(url)
    upgrade(url)
    check(url)
    assert _scopes(url) == {"c-reg": "", "c-web": " ".join(STOREFRONT_SCOPES)}


def _down_and_up(url: str) -> None:
    _upgraded(url)
    db = open_database(url)
    try:
        command.downgrade(alembic_config(db), "0003")
        with db.engine.connect() as conn:
            columns = conn.execute(text("SELECT * FROM credentials")).keys()
            assert "scopes" not in columns
            assert conn.execute(text("SELECT count(*) FROM credentials")).scalar_one() == 2
    finally:
        db.close()
    upgrade(url)
    check(url)
    assert _scopes(url)["c-web"] == " ".join(STOREFRONT_SCOPES)


def test_there_is_one_head(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    try:
        assert len(ScriptDirectory.from_config(alembic_config(db)).get_heads()) == 1
    finally:
        db.close()


def test_0004_gives_old_storefront_tokens_every_scope_sqlite(sqlite_url: str) -> None:
    _upgraded(sqlite_url)


@pytest.mark.postgres
def test_0004_gives_old_storefront_tokens_every_scope_postgresql(pg_url: str) -> None:
    _upgraded(pg_url)


def test_0004_downgrades_to_0003_and_back_sqlite(sqlite_url: str) -> None:
    _down_and_up(sqlite_url)


@pytest.mark.postgres
def test_0004_downgrades_to_0003_and_back_postgresql(pg_url: str) -> None:
    _down_and_up(pg_url)
