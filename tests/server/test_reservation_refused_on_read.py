"""A reservation that cannot be held is refused on a read, without the database writer, with the
very answer the writer would give; anything the writer must judge still goes to it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pos_core.inventory import StockLine
from store_server import storefront_endpoint
from store_server.db.engine import open_database
from store_server.db.loop_reads import LoopReads
from store_server.errors import InsufficientStock
from store_server.server import StoreServer
from store_server.usecases.reservations import Reserve, refused_on_read, reserve
from store_server.usecases.stock_ops import Receive, receive
from tests.server.storefront_support import rid, storefront, storefront_server
from tests.server.support import prepare_store, run

# The test store: SKU-0001 10 on hand, SKU-0002 5, SKU-0003 3, SKU-0004 none.


def _groups(server: StoreServer) -> int:
    """Group commits the writer has made: a command it was asked to run makes one."""
    return server.database.writer.groups


def test_a_reservation_short_of_stock_is_refused_without_the_writer(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[int]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            groups = [_groups(server)]
            refused = await sf.reserve(("SKU-0002", 4), ("SKU-0003", 4), ("SKU-0004", 1))
            groups.append(_groups(server))
            held = await sf.reserve(("SKU-0003", 3))
            groups.append(_groups(server))
            now_short = await sf.reserve(("SKU-0003", 1))
            groups.append(_groups(server))
            return refused, held, now_short, groups

    refused, held, now_short, groups = run(scenario())
    assert refused["code"] == "insufficient_stock"
    assert refused["short"] == [
        {"sku": "SKU-0003", "requested": 4, "available": 3},
        {"sku": "SKU-0004", "requested": 1, "available": 0},
    ]
    assert held["type"] == "reservation", held
    assert now_short["short"] == [{"sku": "SKU-0003", "requested": 1, "available": 0}]
    assert groups[1] == groups[0]  # refused on the read
    assert groups[2] == groups[1] + 1  # the grant is the writer's
    assert groups[3] == groups[2]  # the hold it made is seen by the next read


def test_what_the_writer_must_judge_still_goes_to_it(sqlite_url: str) -> None:
    async def scenario() -> dict[str, dict[str, Any]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            first = rid()
            got = {"granted": await sf.reserve(("SKU-0003", 3), request_id=first)}
            # SKU-0003 is all held now, yet the resend is the first answer again, and the same
            # id for other lines is a conflict: the id was used, so the writer answers.
            got["resent"] = await sf.reserve(("SKU-0003", 3), request_id=first)
            got["altered"] = await sf.reserve(("SKU-0003", 2), request_id=first)
            order = await sf.place(("SKU-0001", 1))
            # An order's hold's id for a reservation of what is all held: a conflict, not a shortage.
            got["hold's id"] = await sf.reserve(("SKU-0003", 1), request_id=order["order"]["reservation_id"])
            got["unknown sku"] = await sf.reserve(("SKU-0003", 1), ("NO-SUCH-SKU", 1))
            got["zero"] = await sf.reserve(("SKU-0003", 0))
            got["unknown location"] = await sf.request(
                {
                    "type": "reservation.reserve",
                    "request_id": rid(),
                    "location": "annex",
                    "lines": [{"sku": "SKU-0003", "quantity": 1}],
                    "ttl_s": 60,
                }
            )
            return got

    got = run(scenario())
    assert got["granted"]["type"] == "reservation"
    assert got["resent"]["reservation"] == got["granted"]["reservation"]
    assert got["altered"]["code"] == "idempotency_conflict"
    assert got["hold's id"]["code"] == "idempotency_conflict", got["hold's id"]
    assert got["unknown sku"]["code"] == "unknown_sku"
    assert got["zero"]["code"] == "invalid_quantity"
    assert got["unknown location"]["code"] == "unknown_location"


CASES = [
    pytest.param([("SKU-0001", 11)], id="one line short"),
    pytest.param([("SKU-0001", 10), ("SKU-0004", 2)], id="no stock at all"),
    pytest.param([("SKU-0002", 3), ("SKU-0002", 3)], id="demand summed per SKU"),
    pytest.param([("SKU-0001", 1), ("SKU-0003", 9), ("SKU-0002", 6)], id="several short"),
    pytest.param([("SKU-0002", 2)], id="within the safety stock"),
]


@pytest.mark.parametrize("lines", CASES)
def test_the_refusal_read_first_is_the_writers(sqlite_url: str, lines: list[tuple[str, int]]) -> None:
    prepare_store(sqlite_url)
    db = open_database(sqlite_url)
    try:
        with db.write() as session:  # SKU-0002: 5 on hand, 4 of them safety stock
            session.connection().exec_driver_sql("UPDATE stock_levels SET safety_stock = 4 WHERE sku = 'SKU-0002'")
        cmd = Reserve(rid(), "storefront:test", tuple(StockLine(sku, q) for sku, q in lines), 600)
        reads = LoopReads(str(db.url.database))
        try:
            with reads.snapshot() as fetch:
                read_first = refused_on_read(cmd, fetch)
        finally:
            reads.close()
        with pytest.raises(InsufficientStock) as written, db.write() as session:
            reserve(session, cmd)
    finally:
        db.close()
    assert read_first is not None
    assert (str(read_first), read_first.short) == (str(written.value), written.value.short)


def test_a_reservation_that_can_be_held_is_left_to_the_writer(sqlite_url: str) -> None:
    prepare_store(sqlite_url)
    reads = LoopReads(sqlite_url.removeprefix("sqlite:///"))
    try:
        with reads.snapshot() as fetch:
            enough = refused_on_read(Reserve(rid(), "storefront:test", (StockLine("SKU-0001", 10),), 600), fetch)
    finally:
        reads.close()
    assert enough is None


def test_a_snapshot_reads_one_state_of_the_database(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE levels (sku TEXT PRIMARY KEY, on_hand INTEGER)")
    writer.execute("INSERT INTO levels VALUES ('A', 5)")
    reads = LoopReads(str(path))
    try:
        with reads.snapshot() as fetch:
            before = fetch("SELECT on_hand FROM levels WHERE sku = :sku", {"sku": "A"})
            writer.execute("UPDATE levels SET on_hand = 0")  # a sale commits meanwhile
            during = fetch("SELECT on_hand FROM levels WHERE sku = :sku", {"sku": "A"})
        after = reads.fetch_all("SELECT on_hand FROM levels WHERE sku = :sku", {"sku": "A"})
    finally:
        reads.close()
        writer.close()
    assert (before, during, after) == ([(5,)], [(5,)], [(0,)])


def test_a_receipt_between_reads_lets_the_next_reservation_through(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            short = await sf.reserve(("SKU-0004", 2))
            await asyncio.to_thread(_receive, sqlite_url, "SKU-0004", 2)
            return short, await sf.reserve(("SKU-0004", 2))

    short, held = run(scenario())
    assert short["code"] == "insufficient_stock"
    assert held["type"] == "reservation", held


def _receive(url: str, sku: str, quantity: int) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            receive(session, Receive(rid(), "staff:test", (StockLine(sku, quantity),)))
    finally:
        db.close()


def _reserve(lines: list[tuple[str, int]], request_id: str | None = None) -> str:
    return json.dumps(
        {
            "type": "reservation.reserve",
            "request_id": request_id or rid(),
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
            "ttl_s": 600,
        }
    )


def test_a_reservation_sent_behind_a_pending_command_of_its_connection_is_judged_after_it(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            held = await sf.reserve(("SKU-0003", 3))  # all of SKU-0003
            release = {
                "type": "reservation.release",
                "request_id": rid(),
                "reservation_id": held["reservation"]["reservation_id"],
            }
            await sf.ws.send(json.dumps(release))
            await sf.ws.send(_reserve([("SKU-0003", 3)]))  # sent before the release is answered
            released, again = await sf.receive(), await sf.receive()
            same = rid()
            await sf.ws.send(_reserve([("SKU-0001", 1)], same))
            await sf.ws.send(_reserve([("SKU-0003", 9)], same))  # the same id, other content, short
            return released, again, await sf.receive(), await sf.receive()

    released, again, first, reused = run(scenario())
    assert released["type"] == "reservation", released
    assert again["type"] == "reservation", again  # the release came first, as sent
    assert first["type"] == "reservation", first
    assert reused["code"] == "idempotency_conflict", reused


def test_a_read_that_fails_leaves_the_answer_to_the_writer(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_cmd: Reserve, _fetch: object) -> None:
        raise sqlite3.DatabaseError("disk I/O error")

    monkeypatch.setattr(storefront_endpoint, "refused_on_read", broken)

    async def scenario() -> tuple[dict[str, Any], list[int]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            before = _groups(server)
            reply = await sf.reserve(("SKU-0004", 1))
            return reply, [before, _groups(server)]

    reply, groups = run(scenario())
    assert reply["code"] == "insufficient_stock", reply  # the writer's answer, not "internal"
    assert groups[1] == groups[0] + 1


def test_behind_reservations_of_its_connection_a_short_one_is_still_refused(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            for lines in ([("SKU-0003", 2)], [("SKU-0003", 1)], [("SKU-0003", 1)]):
                await sf.ws.send(_reserve(lines))  # pipelined: none answered before the next is sent
            return [await sf.receive() for _ in range(3)]

    replies = run(scenario())
    assert [r["type"] for r in replies[:2]] == ["reservation", "reservation"]
    assert replies[2]["code"] == "insufficient_stock"
