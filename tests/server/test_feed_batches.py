"""Feed protocol 3: events travel several to an ``events`` message; protocol 2 is still served."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from store_server import feed_protocol
from store_server.feed_client import Backoff, FeedConsumer
from store_server.feed_endpoint import FeedSettings
from store_server.feed_protocol import FeedProtocolError, events_in, events_messages
from store_server.server import StoreServer
from tests.server.feed_support import (
    catalogue,
    db_levels,
    drain,
    feed_server,
    heartbeat_rounds,
    many_skus,
    raw_feed,
    recv,
    sale_of,
    send,
)
from tests.server.support import Tokens, register, run

STORE = many_skus(20)
PRODUCTS = catalogue(STORE)


async def _sell(server: StoreServer, tokens: Tokens, sales: int) -> None:
    """``sales`` sales of two lines each: three events a sale."""
    skus = sorted(PRODUCTS)
    async with register(server, tokens.register) as reg:
        cashier = await reg.login()
        for n in range(sales):
            items = [(skus[n % len(skus)], 1), (skus[(n + 1) % len(skus)], 1)]
            reply = await reg.submit(sale_of(PRODUCTS, items, cashier))
            assert reply["type"] == "sale.accepted", reply


def _subscribe(protocol: int, since: int = 0) -> dict[str, Any]:
    return {"type": "subscribe", "protocol": protocol, "since": since}


def _events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of protocol 3 ``events`` messages, in order (other frames left out)."""
    return [event for m in messages if m["type"] == "events" for event in m["events"]]


# --- the messages themselves ---------------------------------------------------------------


def _frame(seq: int, data: str) -> tuple[int, str]:
    event = {"type": "event", "seq": seq, "event": "stock.changed", "at": "t", "data": {"x": data}}
    return seq, json.dumps(event, ensure_ascii=False)


def test_events_are_packed_in_order_up_to_the_byte_bound() -> None:
    frames = [_frame(seq, "a" * 50) for seq in range(1, 11)]
    size = len(frames[0][1])
    messages = events_messages(frames, max_bytes=3 * size + 2)  # three events and their two commas

    parsed = [json.loads(text) for _, text in messages]
    assert [[e["seq"] for e in m["events"]] for m in parsed] == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
    assert [last for last, _ in messages] == [3, 6, 9, 10]
    assert all(m["type"] == "events" for m in parsed)
    assert _events(parsed) == [json.loads(text) for _, text in frames]


def test_an_event_over_the_bound_goes_alone_and_bytes_not_characters_count() -> None:
    small, big = _frame(1, "a"), _frame(2, "b" * 500)
    accented = [_frame(3, "é" * 40), _frame(4, "é" * 40)]  # two bytes a character in UTF-8
    bound = len(accented[0][1]) * 2 + 1  # both would fit were characters counted

    assert [last for last, _ in events_messages([small, big, small], max_bytes=100)] == [1, 2, 1]
    assert [last for last, _ in events_messages(accented, max_bytes=bound)] == [3, 4]
    assert events_messages([]) == []


def test_a_consumer_refuses_an_events_message_without_events() -> None:
    assert events_in({"type": "events", "events": [{"type": "event", "seq": 1}]}) == [{"type": "event", "seq": 1}]
    for bad in ({"type": "events"}, {"type": "events", "events": []}, {"type": "events", "events": [{"seq": 1}]}):
        with pytest.raises(FeedProtocolError):
            events_in(bad)


# --- on the wire -------------------------------------------------------------------------------


def test_protocol_3_carries_the_same_events_as_protocol_2_in_fewer_messages(sqlite_url: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 4)  # seq 1..12, stored before either consumer comes
            async with raw_feed(server, tokens.storefront) as old, raw_feed(server, tokens.storefront) as new:
                await send(old, _subscribe(2))
                await send(new, _subscribe(3))
                subscribed = [await recv(old), await recv(new)]
                await _sell(server, tokens, 2)  # seq 13..18, live
                return subscribed, await drain(old), await drain(new)

    subscribed, old, new = run(scenario())
    assert [s["protocol"] for s in subscribed] == [2, 3]
    assert {frame["type"] for frame in old} == {"event"}
    assert {frame["type"] for frame in new} == {"events"}
    assert [e["seq"] for e in _events(new)] == list(range(1, 19))
    assert _events(new) == old
    assert len(new) < len(old)  # the replay of 12 came in one read, so in one message


def test_the_unacked_cap_counts_events_inside_messages(sqlite_url: str) -> None:
    settings = FeedSettings(max_unacked=5, batch=4)

    async def scenario() -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        async with feed_server(sqlite_url, seed=STORE, heartbeat_s=0.2, settings=settings) as (server, tokens):
            await _sell(server, tokens, 4)  # seq 1..12
            # Seq 3 is inside the first message.
            return await heartbeat_rounds(server, tokens.storefront, _subscribe(3), [[3], [8]])

    rounds = run(scenario())
    assert [[e["seq"] for e in _events(messages)] for messages, _ in rounds] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8],
        [9, 10, 11, 12],
    ]
    assert [[len(m["events"]) for m in messages] for messages, _ in rounds] == [[4, 1], [3], [4]]
    assert [(beat["sent_seq"], beat["acked_seq"]) for _, beat in rounds] == [(5, 0), (8, 3), (12, 8)]


async def _follow(server: StoreServer, tokens: Tokens, until_seq: int) -> FeedConsumer:
    """A reference client from a new mirror (a snapshot first) while 5 more sales are made."""
    progressed = asyncio.Event()
    consumer = FeedConsumer(
        f"ws://127.0.0.1:{server.port}/feed",
        tokens.storefront,
        on_event=lambda _e: progressed.set(),
        backoff=Backoff(first_s=0.01),
    )
    stop = asyncio.Event()
    follower = asyncio.create_task(consumer.run(stop))
    await _sell(server, tokens, 5)  # 15 more events, live
    async with asyncio.timeout(10):
        while consumer.mirror.last_seq < until_seq:
            progressed.clear()
            await progressed.wait()
    stop.set()
    await follower
    return consumer


def test_the_reference_client_follows_protocol_3(sqlite_url: str) -> None:
    async def scenario() -> tuple[FeedConsumer, Any]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 2)  # seq 1..6
            consumer = await _follow(server, tokens, 21)
            return consumer, await asyncio.to_thread(db_levels, sqlite_url)

    consumer, levels = run(scenario())
    assert consumer.protocol == 3
    assert consumer.mirror.last_seq == 21
    assert consumer.mirror.levels == levels
    assert consumer.duplicates == 0


def test_the_reference_client_falls_back_to_protocol_2_on_a_server_before_revision_5(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server as revision 4 was: feed protocols 1 and 2, unsupported_protocol for 3.
    monkeypatch.setattr(feed_protocol, "PROTOCOLS", (1, 2))

    async def scenario() -> tuple[FeedConsumer, Any, str]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, _subscribe(3))
                refused = await recv(ws)
            await _sell(server, tokens, 2)
            consumer = await _follow(server, tokens, 21)
            return consumer, await asyncio.to_thread(db_levels, sqlite_url), refused["code"]

    consumer, levels, refused = run(scenario())
    assert refused == "unsupported_protocol"
    assert consumer.protocol == 2
    assert consumer.mirror.levels == levels
    assert consumer.mirror.last_seq == 21
