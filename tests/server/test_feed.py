"""The /feed endpoint: ordered, resumable, heartbeats, and never slowing a sale."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from store_server.errors import FeedRefused
from store_server.feed_client import FeedEvent, follow_feed
from tests.server.support import feed, feed_url, make_long_sale, make_sale, next_frame, register, run, running_server


async def _events(ws: Any, n: int) -> list[dict[str, Any]]:
    return [await next_frame(ws) for _ in range(n)]


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polling a list the callback fills is simplest here
            await asyncio.sleep(0.02)


def test_sale_produces_ordered_events_with_absolute_levels(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens), feed(server, tokens.storefront) as ws:
            subscribed = await next_frame(ws)
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                sale = make_sale([("SKU-0001", 2), ("SKU-0002", 1)], cashier_id=cashier)
                accepted = await reg.submit(sale)
            events = await _events(ws, 3)
            return subscribed, events, {"sale": sale, "accepted": accepted}

    subscribed, events, ctx = run(scenario())
    assert subscribed["type"] == "subscribed"
    assert subscribed["latest_seq"] == 0
    assert len(subscribed["epoch"]) == 36
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert [e["event"] for e in events] == ["sale.completed", "stock.changed", "stock.changed"]
    assert events[0]["data"] == ctx["sale"]
    assert ctx["accepted"]["seq"] == 1
    milk = events[1]["data"]
    assert {k: milk[k] for k in ("sku", "location", "on_hand", "reserved", "safety_stock", "available")} == {
        "sku": "SKU-0001",
        "location": "main",
        "on_hand": 8,
        "reserved": 0,
        "safety_stock": 0,
        "available": 8,
    }
    assert milk["movement"]["quantity"] == 2
    assert (milk["movement"]["from_bucket"], milk["movement"]["to_bucket"]) == ("on_hand", "customer")
    assert (milk["movement"]["document_type"], milk["movement"]["document_id"]) == ("sale", ctx["sale"]["id"])
    assert events[0]["at"].endswith("+00:00")


def test_resume_with_since_replays_only_newer_events(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with running_server(sqlite_url) as (server, tokens):
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                for _ in range(3):
                    await reg.submit(make_sale([("SKU-0003", 1)], cashier_id=cashier))  # seq 1..6
            async with feed(server, tokens.storefront, since=4) as ws:
                subscribed = await next_frame(ws)
                return subscribed, await _events(ws, 2)

    subscribed, events = run(scenario())
    assert subscribed["latest_seq"] == 6
    assert [e["seq"] for e in events] == [5, 6]
    assert events[1]["data"]["on_hand"] == 0


def test_idle_feed_gets_heartbeats_with_latest_seq(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], float]:
        async with (
            running_server(sqlite_url, heartbeat_s=0.2) as (server, tokens),
            feed(server, tokens.storefront) as ws,
        ):
            await next_frame(ws)
            started = time.monotonic()
            beat = await next_frame(ws, 2.0)
            return beat, time.monotonic() - started

    beat, waited = run(scenario())
    assert beat == {"type": "heartbeat", "latest_seq": 0}
    assert 0.1 < waited < 1.5


def test_subscribe_must_come_first(sqlite_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens):
            from websockets.asyncio.client import connect

            headers = {"Authorization": f"Bearer {tokens.storefront}"}
            async with connect(feed_url(server), additional_headers=headers) as ws:
                await ws.send('{"type": "subscribe", "since": -1}')
                return await next_frame(ws)

    error = run(scenario())
    assert (error["type"], error["code"]) == ("error", "bad_message")


def test_slow_consumer_does_not_delay_sale_acks(sqlite_url: str) -> None:
    """A storefront that stops reading must not hold up the till."""
    sales, lines = 20, 300

    async def scenario() -> tuple[list[float], dict[str, Any], int]:
        async with running_server(sqlite_url) as (server, tokens):
            # A consumer with a tiny socket buffer that never reads after subscribing:
            # several MB of events back up behind it.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            async with feed(server, tokens.storefront, max_queue=1, sock=sock, close_timeout=0.5) as stalled:
                await next_frame(stalled)
                delays = []
                async with register(server, tokens.register) as reg:
                    cashier = await reg.login()
                    for _ in range(sales):
                        started = time.monotonic()
                        reply = await reg.submit(make_long_sale(lines, cashier_id=cashier))
                        assert reply["type"] == "sale.accepted"
                        delays.append(time.monotonic() - started)
                async with feed(server, tokens.storefront, since=sales * (lines + 1) - 2) as fresh:
                    subscribed = await next_frame(fresh)
                    last = (await _events(fresh, 2))[-1]["seq"]
                return delays, subscribed, last

    delays, subscribed, last = run(scenario())
    assert max(delays) < 1.0
    assert subscribed["latest_seq"] == sales * (lines + 1)
    assert last == sales * (lines + 1)


def test_follow_feed_delivers_each_event_once_across_reconnects(sqlite_url: str) -> None:
    async def scenario() -> tuple[list[FeedEvent], list[str]]:
        got: list[FeedEvent] = []
        status: list[str] = []
        async with running_server(sqlite_url) as (server, tokens):
            stop = asyncio.Event()
            follower = asyncio.create_task(
                follow_feed(feed_url(server), tokens.storefront, 0, got.append, stop=stop, on_status=status.append)
            )
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                await reg.submit(make_sale([("SKU-0001", 1)], cashier_id=cashier))
                await _until(lambda: len(got) >= 2)
                # Drop every feed connection: the client reconnects and resumes after seq 2.
                for conn in list(server._server.connections if server._server else []):
                    if conn.request and conn.request.path == "/feed":
                        await conn.close()
                await reg.submit(make_sale([("SKU-0002", 1)], cashier_id=cashier))
                await _until(lambda: len(got) >= 4)
            stop.set()
            await follower
        return got, status

    got, status = run(scenario())
    assert [e.seq for e in got] == [1, 2, 3, 4]
    assert any("reconnecting" in s for s in status)
    line = got[0].to_json_line()
    assert line.startswith('{"seq":1,"type":"sale.completed","at":')


def test_follow_feed_refused_token_is_fatal(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with running_server(sqlite_url) as (server, tokens):
            await follow_feed(feed_url(server), tokens.register, 0, lambda _e: None)

    with pytest.raises(FeedRefused, match="register token cannot open /feed"):
        run(scenario())
