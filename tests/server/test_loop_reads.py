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
from store_server.feed_endpoint import FeedSettings
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


def _sales_reach_the_feed(url: str, before: int = 0, after: int = 3, batch: int = 200) -> list[int]:
    """``before`` sales made before a consumer subscribes from the start, and ``after`` more
    while it follows the live tail (each sale, one line: two events); the seqs it was sent."""

    async def scenario() -> list[int]:
        settings = FeedSettings(batch=batch)
        async with running_server(url, feed=settings) as (server, tokens), register(server, tokens.register) as reg:
            cashier = await reg.login()
            for _ in range(before):
                await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=cashier))
            async with feed(server, tokens.storefront) as ws:
                assert (await next_frame(ws))["type"] == "subscribed"
                seqs = [(await next_frame(ws))["seq"] for _ in range(2 * before)]
                for _ in range(after):
                    await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=cashier))
                return seqs + [(await next_frame(ws))["seq"] for _ in range(2 * after)]

    return run(scenario())


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """How many rows each read on the readers' thread and each read on the loop returned."""
    on_thread: list[int] = []
    on_loop: list[int] = []
    thread_read = feed_endpoint._read_frames
    loop_read = LoopReads.fetch_all

    def counted_thread(*args: Any) -> list[tuple[int, str]]:
        rows = thread_read(*args)
        on_thread.append(len(rows))
        return rows

    def counted_loop(self: LoopReads, sql: str, params: Any) -> list[tuple[Any, ...]] | None:
        rows = loop_read(self, sql, params)
        if rows is not None:
            on_loop.append(len(rows))
        return rows

    monkeypatch.setattr(feed_endpoint, "_read_frames", counted_thread)
    monkeypatch.setattr(LoopReads, "fetch_all", counted_loop)
    return on_thread, on_loop


def test_the_live_feed_reads_on_the_loop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    on_thread, on_loop = _count_reads(monkeypatch)
    assert _sales_reach_the_feed(sqlite_url) == [1, 2, 3, 4, 5, 6]
    assert len(on_thread) == 1  # the first read, before the consumer was known to be at the tail
    assert sum(on_thread) + sum(on_loop) == 6
    assert sum(on_loop) > 0


def test_catching_up_reads_on_the_readers_thread(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 12 events behind with batches of 5: full batches read on the thread, where the loop does
    # not wait for them; only once a read comes back short does the loop read for itself.
    on_thread, on_loop = _count_reads(monkeypatch)
    assert _sales_reach_the_feed(sqlite_url, before=6, after=2, batch=5) == list(range(1, 17))
    assert on_thread[:3] == [5, 5, 2]
    assert sum(on_thread) + sum(on_loop) == 16
    assert all(rows <= 5 for rows in on_loop)
    assert sum(on_loop) > 0


def test_a_busy_loop_read_falls_back_to_the_readers_thread(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    on_thread, _ = _count_reads(monkeypatch)
    monkeypatch.setattr(LoopReads, "fetch_all", lambda self, sql, params: None)  # SQLite busy every time
    assert _sales_reach_the_feed(sqlite_url) == [1, 2, 3, 4, 5, 6]
    assert sum(on_thread) == 6


def test_a_commits_events_go_out_in_one_write(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    send = feed_endpoint.send_texts

    async def counted(connection: Any, texts: Any, before_write: Any = None) -> None:
        batches.append(len(texts))
        await send(connection, texts, before_write)

    monkeypatch.setattr(feed_endpoint, "send_texts", counted)

    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), feed(server, tokens.storefront) as ws:
            assert (await next_frame(ws))["type"] == "subscribed"
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                await reg.submit(make_sale([("SKU-0001", 1), ("SKU-0002", 1), ("SKU-0003", 1)], cashier_id=cashier))
            return [await next_frame(ws) for _ in range(4)]

    events = run(scenario())
    assert [e["event"] for e in events] == ["sale.completed", "stock.changed", "stock.changed", "stock.changed"]
    assert batches == [4]


def test_closing_the_database_closes_the_loops_connection(tmp_path: Path) -> None:
    (tmp_path / "store.db").touch()
    db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    reads = db.loop_reads()
    assert reads is not None
    assert reads.fetch_all("SELECT 1", {}) == [(1,)]
    db.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        reads.fetch_all("SELECT 1", {})
    assert db.loop_reads() is None  # a request still running as the server stops opens none again
