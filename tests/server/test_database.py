"""Opening databases: SQLite settings, refusing files that are not ours, ports in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from store_server.db.engine import open_database
from store_server.errors import NotOurDatabase, PortInUse, StoreNotInitialised
from store_server.server import StoreServer
from store_server.usecases.store import init_store
from tests.server.support import SEED, run, running_server


def test_sqlite_is_tuned_for_a_till(sqlite_url: str) -> None:
    init_store(sqlite_url, demo=False, seed=SEED)
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
            # MEMORY: each request's savepoint journal stays in memory, not spilled to a temp file
            assert s.execute(text("PRAGMA temp_store")).scalar() == 2
    finally:
        db.close()


def test_write_transactions_take_the_lock_at_begin(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: a second writer waits at BEGIN, not at its first write (no deadlock)."""
    init_store(sqlite_url, demo=False, seed=SEED)
    db = open_database(sqlite_url)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.1)
    try:
        with db.write() as s:
            s.execute(text("SELECT 1"))  # no write yet, but the lock is already held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        db.close()


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT)")
    conn.execute("INSERT INTO recipes (title) VALUES ('soup')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["other sqlite", "text file"])
def test_a_database_that_is_not_ours_is_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "store.db"
    if kind == "text file":
        path.write_text("shopping list: milk, eggs\n" * 100)
    else:
        _foreign_sqlite(path)
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(NotOurDatabase, match="is not a store database") as info:
        init_store(f"sqlite:///{path}", demo=False, seed=SEED)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no -wal or -journal left behind


def test_server_refuses_an_uninitialised_database(sqlite_url: str) -> None:
    with pytest.raises(StoreNotInitialised, match="pos store init"):
        run(StoreServer(sqlite_url).start())


def test_init_store_is_idempotent(sqlite_url: str) -> None:
    first = init_store(sqlite_url, demo=False, seed=SEED)
    again = init_store(sqlite_url, demo=False, seed=SEED)
    assert first == again


def test_demo_store_loads_with_opening_stock(sqlite_url: str) -> None:
    from store_server.demo_catalogue import demo_store
    from store_server.usecases.catalogue import catalogue_page
    from store_server.usecases.stock import ledger_on_hand

    info = init_store(sqlite_url, demo=True)
    demo = demo_store()
    assert info.name == demo.name
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            page = catalogue_page(s, "", 1000)
            assert len(page.products) == len(demo.products)
            first = min(demo.products, key=lambda p: p.sku)
            assert ledger_on_hand(s, first.sku) == first.on_hand
    finally:
        db.close()


def test_port_in_use_is_a_sentence(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()  # the same database or data directory would be refused first (serving_lock)
    other = f"sqlite:///{tmp_path / 'other' / 'store.db'}"
    init_store(other, demo=False, seed=SEED)

    async def scenario() -> str:
        async with running_server(sqlite_url) as (server, _):
            second = StoreServer(other)
            with pytest.raises(PortInUse) as info:
                await second.start(port=server.port)
            return str(info.value).replace(str(server.port), "P")

    assert run(scenario()) == "Port P on 127.0.0.1 is already in use; stop the other server or pass --port."
