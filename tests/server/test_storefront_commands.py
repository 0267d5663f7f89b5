"""A storefront queries, reserves, orders and hands over pickups over ``/storefront``, on SQLite and
PostgreSQL; every change streams on the feed at once, and a repeated request changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pos_core.inventory import StockLine
from store_server import storefront_endpoint
from store_server.db.engine import open_database
from store_server.usecases.orders import OrderStep, mark_ready, start_picking
from store_server.usecases.stock_ops import Receive, receive
from tests.server.inventory_support import DATABASES, shop_url
from tests.server.storefront_support import (
    Storefront,
    fingerprint,
    rid,
    storefront,
    storefront_server,
    watch_feed,
)
from tests.server.support import run

STAFF = "staff:till-1"


def _level(sku: str, on_hand: int, reserved: int) -> dict[str, Any]:
    return {
        "sku": sku,
        "location": "main",
        "on_hand": on_hand,
        "reserved": reserved,
        "safety_stock": 0,
        "available": on_hand - reserved,
    }


def _make_ready(url: str, order_id: str) -> None:
    """What the store's staff do: pick the order, then put it ready on the counter."""
    db = open_database(url)
    try:
        for step in (start_picking, mark_ready):
            with db.write() as session:
                step(session, OrderStep(rid(), STAFF, order_id))
    finally:
        db.close()


@pytest.mark.parametrize("kind", DATABASES)
def test_a_storefront_reserves_orders_and_hands_over_a_pickup(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)

    async def scenario() -> None:
        async with (
            storefront_server(url) as (server, tokens),
            storefront(server, tokens.storefront) as sf,
            watch_feed(server, tokens.storefront) as feed,
        ):
            query = await sf.request({"type": "stock.query", "skus": ["SKU-0002", "SKU-0001", "SKU-0002"]})
            assert query == {
                "type": "stock.levels",
                "req": query["req"],
                "location": "main",
                "as_of_seq": 0,
                "levels": [_level("SKU-0001", 10, 0), _level("SKU-0002", 5, 0)],
            }

            # A cart hold: demand summed per SKU; the feed has it at once (heartbeats are 30 s apart).
            held = await sf.reserve(("SKU-0002", 2), ("SKU-0002", 1), ttl_s=900)
            assert held["type"] == "reservation"
            assert held["duplicate"] is False
            reservation = held["reservation"]
            assert reservation["status"] == "pending"
            assert reservation["lines"] == [{"sku": "SKU-0002", "quantity": 3}]
            assert reservation["expires_at"] == "2026-11-27T10:15:00.000000+00:00"  # the server's clock + 900 s
            assert held["levels"] == [_level("SKU-0002", 5, 3)]
            events = await feed.through(held["seq"])
            assert [e["event"] for e in events] == ["stock.changed", "reservation.granted"]
            assert events[-1]["data"]["reservation_id"] == reservation["reservation_id"] == held["request_id"]

            commit = {
                "type": "reservation.commit",
                "request_id": rid(),
                "reservation_id": reservation["reservation_id"],
            }
            committed = await sf.request(commit)
            assert committed["reservation"]["status"] == "committed"
            assert committed["levels"] == [_level("SKU-0002", 2, 0)]
            assert [e["event"] for e in await feed.through(committed["seq"])][-1] == "reservation.committed"

            other = await sf.reserve(("SKU-0001", 4))
            release = {"type": "reservation.release", "request_id": rid(), "reservation_id": other["request_id"]}
            released = await sf.request(release)
            assert released["reservation"]["status"] == "released"
            assert released["levels"] == [_level("SKU-0001", 10, 0)]
            assert [e["event"] for e in await feed.through(released["seq"])][-1] == "reservation.released"

            # A pickup order for more dish soap than there is: each line says what is held and short.
            placed = await sf.place(("SKU-0003", 2), ("SKU-0003", 2), reference="WEB-1001", customer_name="Kim")
            order = placed["order"]
            assert (order["status"], order["channel"], order["reference"]) == ("placed", "pickup", "WEB-1001")
            assert [(ln["quantity"], ln["reserved"], ln["short"]) for ln in order["lines"]] == [(2, 2, 0), (2, 1, 1)]
            assert [e["event"] for e in await feed.through(placed["seq"])][-1] == "order.placed"

            update = {
                "type": "order.update",
                "request_id": rid(),
                "order_id": order["order_id"],
                "lines": [{"sku": "SKU-0003", "quantity": 3}],
            }
            updated = await sf.request(update)
            assert updated["order"]["status"] == "reserved"
            assert updated["order"]["lines"] == [
                {"line_no": 1, "sku": "SKU-0003", "quantity": 3, "reserved": 3, "short": 0}
            ]
            await feed.through(updated["seq"])

            collect = {"type": "order.collect", "request_id": rid(), "order_id": order["order_id"]}
            early = await sf.request(collect)
            assert early["code"] == "illegal_transition"  # not ready yet: the store picks it first

            await asyncio.to_thread(_make_ready, url, order["order_id"])
            server.notify_committed()
            got = await sf.request({"type": "order.get", "order_id": order["order_id"]})
            assert got["order"]["status"] == "ready"
            assert (got["request_id"], got["seq"], got["duplicate"]) == (None, None, False)

            collected = await sf.request(collect)
            assert collected["order"]["status"] == "picked_up"
            kinds = [e["event"] for e in await feed.through(collected["seq"])]
            assert kinds[:2] == ["order.picking", "order.ready"]
            assert kinds[-2:] == ["reservation.committed", "order.picked_up"]
            assert (await sf.levels("SKU-0003"))["SKU-0003"] == _level("SKU-0003", 0, 0)

            # Ship from store, then the customer cancels: the hold goes back on the shelf.
            shipping = await sf.place(("SKU-0001", 6), channel="ship_from_store", hold_s=3600)
            assert shipping["order"]["status"] == "reserved"
            assert shipping["order"]["expires_at"] == "2026-11-27T11:00:00.000000+00:00"
            cancel = {"type": "order.cancel", "request_id": rid(), "order_id": shipping["request_id"]}
            cancelled = await sf.request(cancel)
            assert cancelled["order"]["status"] == "cancelled"
            assert [ln["reserved"] for ln in cancelled["order"]["lines"]] == [0]
            assert [e["event"] for e in await feed.through(cancelled["seq"])][-1] == "order.cancelled"
            assert (await sf.levels("SKU-0001"))["SKU-0001"] == _level("SKU-0001", 10, 0)

    run(scenario())


async def _replays(sf: Storefront, url: str, first: dict[str, Any]) -> dict[str, Any]:
    """Send ``first`` (a state-changing command), then again on this connection: the same answer,
    marked duplicate, and nothing written."""
    reply = await sf.request(first)
    assert reply["type"] in ("reservation", "order"), reply
    assert reply["duplicate"] is False
    before = await asyncio.to_thread(fingerprint, url)
    again = await sf.request(first)
    assert again["duplicate"] is True
    assert again["seq"] is None
    assert {k: v for k, v in again.items() if k not in ("req", "duplicate", "seq")} == {
        k: v for k, v in reply.items() if k not in ("req", "duplicate", "seq")
    }
    assert await asyncio.to_thread(fingerprint, url) == before
    return reply


@pytest.mark.parametrize("kind", DATABASES)
def test_repeated_requests_return_the_first_answer_and_altered_ones_are_refused(
    request: pytest.FixtureRequest, kind: str
) -> None:
    url = shop_url(request, kind)

    async def scenario() -> None:
        async with storefront_server(url) as (server, tokens):
            async with storefront(server, tokens.storefront) as sf:
                lines = [{"sku": "SKU-0002", "quantity": 2}]
                reserve = {"type": "reservation.reserve", "request_id": rid(), "lines": lines, "ttl_s": 600}
                held = await _replays(sf, url, reserve)
                reservation_id = held["reservation"]["reservation_id"]
                await _replays(
                    sf, url, {"type": "reservation.release", "request_id": rid(), "reservation_id": reservation_id}
                )
                place = {"type": "order.place", "request_id": rid(), "channel": "pickup", "lines": lines}
                placed = await _replays(sf, url, place)
                order_id = placed["order"]["order_id"]
                more = [{"sku": "SKU-0002", "quantity": 3}]
                update = {"type": "order.update", "request_id": rid(), "order_id": order_id, "lines": more}
                await _replays(sf, url, update)
                await _replays(sf, url, {"type": "order.cancel", "request_id": rid(), "order_id": order_id})
                other = await sf.reserve(("SKU-0001", 1))
                commit = {"type": "reservation.commit", "request_id": rid(), "reservation_id": other["request_id"]}
                await _replays(sf, url, commit)
                ready = await sf.place(("SKU-0001", 1))
                await asyncio.to_thread(_make_ready, url, ready["request_id"])
                collect = {"type": "order.collect", "request_id": rid(), "order_id": ready["request_id"]}
                await _replays(sf, url, collect)

                before = await asyncio.to_thread(fingerprint, url)
                altered: list[dict[str, Any]] = [
                    {**reserve, "lines": [{"sku": "SKU-0002", "quantity": 1}]},
                    {**reserve, "ttl_s": 601},
                    {**place, "channel": "ship_from_store"},
                    {**update, "lines": lines},
                    {**reserve, "type": "order.place", "channel": "pickup"},  # the same id for another command
                ]
                for message in altered:
                    refused = await sf.request(message)
                    assert refused["code"] == "idempotency_conflict", (message, refused)
                    assert message["request_id"] in refused["message"]
                assert await asyncio.to_thread(fingerprint, url) == before

            # A new connection (a storefront that restarted) gets the first answer too.
            async with storefront(server, tokens.storefront) as again:
                replay = await again.request(reserve)
                assert (replay["duplicate"], replay["reservation"]["reservation_id"]) == (True, reservation_id)

                # A refused request is not remembered: the same id succeeds once there is stock.
                wanted = rid()
                short = await again.reserve(("SKU-0004", 1), request_id=wanted)
                assert short["code"] == "insufficient_stock"
                assert short["short"] == [{"sku": "SKU-0004", "requested": 1, "available": 0}]
                await asyncio.to_thread(_receive, url, "SKU-0004", 1)
                granted = await again.reserve(("SKU-0004", 1), request_id=wanted)
                assert (granted["duplicate"], granted["reservation"]["status"]) == (False, "pending")

    run(scenario())


def _receive(url: str, sku: str, quantity: int) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            receive(session, Receive(rid(), STAFF, (StockLine(sku, quantity),)))
    finally:
        db.close()


@pytest.mark.parametrize("kind", DATABASES)
def test_pipelined_commands_run_and_are_answered_in_the_order_sent(request: pytest.FixtureRequest, kind: str) -> None:
    """Several commands sent without waiting: a commit of a hold sent right behind the reserve
    finds it, a refusal in the middle holds nothing up, and replies keep the order sent."""
    url = shop_url(request, kind)

    async def scenario() -> list[dict[str, Any]]:
        async with storefront_server(url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            hold, other = rid(), rid()
            frames: list[dict[str, Any]] = [
                {"type": "reservation.reserve", "request_id": hold, "lines": [{"sku": "SKU-0002", "quantity": 2}]},
                {"type": "reservation.commit", "request_id": rid(), "reservation_id": hold},
                {"type": "reservation.reserve", "request_id": rid(), "lines": [{"sku": "SKU-0002", "quantity": 9}]},
                {"type": "reservation.reserve", "request_id": other, "lines": [{"sku": "SKU-0002", "quantity": 3}]},
                {"type": "reservation.release", "request_id": rid(), "reservation_id": other},
            ]
            for n, frame in enumerate(frames):
                await sf.ws.send(json.dumps({**frame, "ttl_s": 600, "req": f"p{n}"} if "lines" in frame else
                                            {**frame, "req": f"p{n}"}))  # fmt: skip
            replies = [await sf.receive() for _ in frames]
            return [*replies, await sf.request({"type": "stock.query", "skus": ["SKU-0002"]})]

    replies = run(scenario())
    assert [r["req"] for r in replies[:5]] == [f"p{n}" for n in range(5)]
    assert [r["type"] for r in replies] == ["reservation", "reservation", "error", "reservation", "reservation",
                                            "stock.levels"]  # fmt: skip
    assert replies[1]["reservation"]["status"] == "committed"
    assert replies[2]["code"] == "insufficient_stock"  # 5 - 2 sold leaves 3, not 9
    assert replies[4]["reservation"]["status"] == "released"
    seqs = [r["seq"] for r in replies[:2] + replies[3:5]]
    assert seqs == sorted(seqs)  # committed in the order sent
    level = replies[5]["levels"][0]
    assert (level["on_hand"], level["reserved"]) == (3, 0)


def test_a_reply_that_cannot_be_sent_is_an_internal_error_and_the_connection_goes_on(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelined sender must outlive a reply it fails to make: the command behind it is
    still answered (before, the sender stopped and the connection stalled)."""
    real_encode = storefront_endpoint.encode
    failures = iter([True])

    def encode_once_badly(message: dict[str, Any]) -> str:
        if message.get("type") == "stock.levels" and next(failures, False):
            raise ValueError("cannot encode this reply")
        return real_encode(message)

    monkeypatch.setattr(storefront_endpoint, "encode", encode_once_badly)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with storefront_server(sqlite_url) as (server, tokens), storefront(server, tokens.storefront) as sf:
            await sf.ws.send(json.dumps({"type": "stock.query", "req": "q1", "skus": ["SKU-0001"]}))
            failed = await sf.receive()
            return failed, await sf.request({"type": "stock.query", "skus": ["SKU-0001"]})

    failed, answered = run(scenario())
    assert (failed["type"], failed["code"], failed["req"]) == ("error", "internal", "q1")
    assert answered["type"] == "stock.levels"
