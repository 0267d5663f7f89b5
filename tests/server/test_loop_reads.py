"""Short reads on the event loop's thread: what they see, that they never wait or write, and
that the feed uses them and falls back to the readers' thread when SQLite is busy."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store_server import feed_endpoint
from store_server.db.engine import open_database
from store_server.db.loop_reads import LoopReads
from tests.server.support import feed, make_sale, next_frame, register, run, running_server

SELECT = "SELECT id, v FROM t WHERE id > :after ORDER BY id"


def _table(path: Path, journal: str = "WAL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return conn


def test_each_read_sees_what_was_committed_before_it(tmp_path: Path) -> None:
    writer = _table(tmp_path / "t.db")
    reads = LoopReads(str(tmp_path / "t.db"))
    try:
        writer.execute("INSERT INTO t (v) VALUES ('a'), ('b')")
        assert reads.fetch_all(SELECT, {"after": 0}) == [(1, "a"), (2, "b")]
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t (v) VALUES ('c')")
        assert reads.fetch_all(SELECT, {"after": 1}) == [(2, "b")]  # not yet committed
        writer.execute("COMMIT")
        assert reads.fetch_all(SELECT, {"after": 1}) == [(2, "b"), (3, "c")]
    finally:
        reads.close()
        writer.close()


def test_a_busy_database_is_none_and_never_waited_for(tmp_path: Path) -> None:
    # A rollback-journal database locked by a writer refuses readers (WAL never does); the
    # loop's connection must give up at once rather than stall the event loop.
    writer = _table(tmp_path / "t.db", journal="DELETE")
    reads = LoopReads(str(tmp_path / "t.db"))
    try:
        assert reads.fetch_all("PRAGMA busy_timeout", {}) == [(0,)]
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO t (v) VALUES ('a')")
        assert reads.fetch_all(SELECT, {"after": 0}) is None
        writer.execute("COMMIT")
        assert reads.fetch_all(SELECT, {"after": 0}) == [(1, "a")]
    finally:
        reads.close()
        writer.close()


def test_it_never_writes_and_never_creates_a_database(tmp_path: Path) -> None:
    writer = _table(tmp_path / "t.db")
    reads = LoopReads(str(tmp_path / "t.db"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reads.fetch_all("INSERT INTO t (v) VALUES (:v)", {"v": "x"})
        assert writer.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        reads.close()
        writer.close()
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        LoopReads(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()


def test_only_a_sqlite_file_reads_on_the_loop(tmp_path: Path) -> None:
    memory = open_database("sqlite://")
    try:
        assert memory.loop_reads() is None
    finally:
        memory.close()
    (tmp_path / "store.db").touch()
    on_file = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        first = on_file.loop_reads()
        assert first is not None
        assert on_file.loop_reads() is first
    finally:
        on_file.close()


def _sales_reach_the_feed(url: str) -> list[int]:
    """Three sales made while a consumer follows the live tail; the seqs it was sent."""

    async def scenario() -> list[int]:
        async with running_server(url) as (server, tokens), feed(server, tokens.storefront) as ws:
            assert (await next_frame(ws))["type"] == "subscribed"
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                for _ in range(3):
                    await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=cashier))
            return [(await next_frame(ws))["seq"] for _ in range(6)]

    return run(scenario())


def _count_thread_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    on_thread = feed_endpoint._read_frames

    def counted(*args: Any) -> list[tuple[int, str]]:
        calls.append(1)
        return on_thread(*args)

    monkeypatch.setattr(feed_endpoint, "_read_frames", counted)
    return calls


def test_the_live_feed_reads_on_the_loop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    thread_reads = _count_thread_reads(monkeypatch)
    assert _sales_reach_the_feed(sqlite_url) == [1, 2, 3, 4, 5, 6]
    assert thread_reads == []


def test_a_busy_loop_read_falls_back_to_the_readers_thread(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    thread_reads = _count_thread_reads(monkeypatch)
    monkeypatch.setattr(LoopReads, "fetch_all", lambda self, sql, params: None)  # SQLite busy every time
    assert _sales_reach_the_feed(sqlite_url) == [1, 2, 3, 4, 5, 6]
    assert thread_reads
