"""A restored backup is noticed at start: the feed gets a new epoch and storefronts a snapshot.

The high-water mark lives outside the database (``feed.position`` next to the SQLite file), so a
database that went back in time cannot hide it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from pos_core.ids import new_id
from pos_core.inventory import StockLine
from store_server import server as server_module
from store_server.db.engine import open_database
from store_server.feed_position import POSITION_FILE
from store_server.server import StoreServer
from store_server.usecases.stock_ops import Receive, receive
from tests.server.feed_support import (
    catalogue,
    db_levels,
    db_position,
    feed_server,
    prepare,
    raw_feed,
    recv,
    sale_of,
    send,
    until,
)
from tests.server.support import SEED, register, run

PRODUCTS = catalogue(SEED)


async def _sell(server: StoreServer, token: str, sales: int) -> None:
    async with register(server, token) as reg:
        cashier = await reg.login()
        for _ in range(sales):
            reply = await reg.submit(sale_of(PRODUCTS, [("SKU-0001", 1)], cashier))
            assert reply["type"] == "sale.accepted", reply


async def _subscribe(server: StoreServer, token: str, since: int, epoch: str) -> tuple[dict[str, Any], list[Any]]:
    """``subscribed`` and the levels of the snapshot that follows it."""
    async with raw_feed(server, token) as ws:
        await send(ws, {"type": "subscribe", "protocol": 2, "since": since, "epoch": epoch})
        _, subscribed = await until(ws, "subscribed")
        frames, end = await until(ws, "snapshot.end")
        levels = [level for f in frames if f["type"] == "snapshot.stock" for level in f["levels"]]
        assert end["epoch"] == subscribed["epoch"]
        return subscribed, levels


def _backup(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore(backup: Path, target: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, target)


def test_restoring_a_backup_rotates_the_epoch_and_consumers_get_the_restored_levels(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"

    async def scenario() -> None:
        async with feed_server(url) as (server, tokens):
            await _sell(server, tokens.register, 2)
            await asyncio.to_thread(_backup, path, tmp_path / "backup.db")
            await _sell(server, tokens.register, 3)
            old_epoch, old_seq = db_position(url)
        assert old_seq > 0
        recorded = json.loads((tmp_path / POSITION_FILE).read_text())
        assert (recorded["epoch"], recorded["last_seq"]) == (old_epoch, old_seq)

        _restore(tmp_path / "backup.db", path)
        restored_seq = db_position(url)[1]
        assert restored_seq < old_seq
        again = StoreServer(url)
        await again.start()
        try:
            epoch, seq = db_position(url)
            assert epoch != old_epoch
            assert seq == restored_seq
            subscribed, levels = await _subscribe(again, tokens.storefront, old_seq, old_epoch)
            assert subscribed["resume"] == "snapshot"
            assert subscribed["snapshot_reason"] == "epoch_changed"
            assert subscribed["epoch"] == epoch
            expected = db_levels(url)
            assert {(lv["sku"], lv["location"]): lv["on_hand"] for lv in levels} == {
                key: figures.on_hand for key, figures in expected.items()
            }
        finally:
            await again.stop()
        assert json.loads((tmp_path / POSITION_FILE).read_text())["epoch"] == epoch

    run(scenario())


def test_a_normal_restart_keeps_the_epoch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def scenario() -> None:
        async with feed_server(url) as (server, tokens):
            await _sell(server, tokens.register, 2)
            before = db_position(url)
        again = StoreServer(url)
        await again.start()
        try:
            assert db_position(url) == before
        finally:
            await again.stop()

    run(scenario())


def test_a_back_office_command_moves_the_mark_and_reaches_the_feed_at_once(tmp_path: Path) -> None:
    # `pos stock receive` commits from another process: the server's mark must follow it, or a
    # crash and a restore after it would go unnoticed and its seq be reused for another change.
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"

    async def scenario() -> tuple[dict[str, Any], int, dict[str, Any]]:
        tokens = await asyncio.to_thread(prepare, url, SEED)
        server = StoreServer(url, heartbeat_s=60.0, position_interval_s=0.05)  # no heartbeat to wake it
        await server.start()
        try:
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, {"type": "subscribe", "protocol": 2, "since": db_position(url)[1]})
                await until(ws, "subscribed")
                await asyncio.to_thread(_receive_elsewhere, url)
                event = await recv(ws, 5.0)
            mark = json.loads((tmp_path / POSITION_FILE).read_text())  # before the stop writes it
        finally:
            await server.stop()
        return event, db_position(url)[1], mark

    event, seq, mark = run(scenario())
    assert (event["type"], event["seq"], event["event"]) == ("event", seq, "stock.changed")
    assert mark["last_seq"] == seq


def _receive_elsewhere(url: str) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            receive(session, Receive(new_id(), "staff:test", (StockLine("SKU-0001", 4),)))
    finally:
        db.close()


def test_the_log_is_followed_through_a_failing_read_and_an_unwritable_position_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    failures = {"reads": 3, "looks": 0}
    looked_enough = threading.Event()
    real_read = server_module._read_position

    def flaky_read(db: Any) -> Any:
        failures["looks"] += 1
        if failures["looks"] >= 8:
            looked_enough.set()
        if failures["reads"] > 0:
            failures["reads"] -= 1
            raise OSError("disk hiccup")
        return real_read(db)

    async def scenario() -> dict[str, Any]:
        tokens = await asyncio.to_thread(prepare, url, SEED)
        server = StoreServer(url, heartbeat_s=60.0, position_interval_s=0.05)
        await server.start()
        monkeypatch.setattr(server_module, "_read_position", flaky_read)
        (tmp_path / (POSITION_FILE + ".tmp")).mkdir()  # the mark's sibling cannot be made: every write fails
        try:
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, {"type": "subscribe", "protocol": 2, "since": db_position(url)[1]})
                await until(ws, "subscribed")
                await asyncio.to_thread(_receive_elsewhere, url)
                event = await recv(ws, 5.0)  # woken all the same
                assert await asyncio.to_thread(looked_enough.wait, 5.0)  # more looks, each failing to write
        finally:
            await server.stop()  # and it stops cleanly
        return event

    with caplog.at_level(logging.WARNING, logger="store_server.server"):
        event = run(scenario())
    assert (event["type"], event["event"]) == ("event", "stock.changed")
    assert failures["reads"] == 0
    said = [r.getMessage() for r in caplog.records]
    assert sum("could not read the feed's position" in m for m in said) == 1, said  # once, not at every look
    assert sum(m.startswith("Cannot write the feed position file") for m in said) == 1, said
