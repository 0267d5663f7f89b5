"""Feed protocol revision 2 on the wire: snapshots, acks and the unacked cap, heartbeats, bad frames."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from store_server.db.engine import open_database
from store_server.feed_client import Backoff, FeedConsumer, FeedEvent
from store_server.feed_endpoint import FeedSettings
from store_server.feed_mirror import FeedMirror, LevelKey, StockFigures
from store_server.server import StoreServer
from store_server.usecases.feed import read_events
from tests.server.feed_support import (
    Lanes,
    catalogue,
    db_levels,
    db_position,
    drain,
    feed_server,
    heartbeat_rounds,
    many_skus,
    prune_events,
    raw_feed,
    recv,
    sale_of,
    send,
    until,
)
from tests.server.support import Tokens, make_sale, register, run

STORE = many_skus(40)
PRODUCTS = catalogue(STORE)


async def _sell(server: StoreServer, tokens: Tokens, sales: int, lines: int = 2) -> None:
    """``sales`` sales of ``lines`` lines each: ``sales * (lines + 1)`` events."""
    skus = sorted(PRODUCTS)
    async with register(server, tokens.register) as reg:
        cashier = await reg.login()
        for n in range(sales):
            items = [(skus[(n + k) % len(skus)], 1) for k in range(lines)]
            reply = await reg.submit(sale_of(PRODUCTS, items, cashier))
            assert reply["type"] == "sale.accepted", reply


def _subscribe(since: int = 0, **fields: Any) -> dict[str, Any]:
    return {"type": "subscribe", "protocol": 2, "since": since, **fields}


def _levels(frames: list[dict[str, Any]]) -> dict[LevelKey, StockFigures]:
    return {
        (lv["sku"], lv["location"]): StockFigures(lv["on_hand"], lv["reserved"], lv["safety_stock"], lv["available"])
        for frame in frames
        if frame["type"] == "snapshot.stock"
        for lv in frame["levels"]
    }


def test_requested_snapshot_is_the_store_as_of_its_seq_then_live_events_follow(sqlite_url: str) -> None:
    settings = FeedSettings(snapshot_batch=7)

    async def scenario() -> dict[str, Any]:
        async with feed_server(sqlite_url, seed=STORE, settings=settings) as (server, tokens):
            await _sell(server, tokens, 3)  # seq 1..9
            levels = await asyncio.to_thread(db_levels, sqlite_url)
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, _subscribe(snapshot=True, req="s1"))
                subscribed = await recv(ws)
                frames, end = await until(ws, "snapshot.end")
                await _sell(server, tokens, 1)  # seq 10..12
                live = [await recv(ws) for _ in range(3)]
            return {"subscribed": subscribed, "frames": frames, "end": end, "live": live, "levels": levels}

    got = run(scenario())
    sub = got["subscribed"]
    assert sub["type"] == "subscribed"
    assert (sub["protocol"], sub["since"], sub["latest_seq"], sub["req"]) == (2, 0, 9, "s1")
    assert (sub["resume"], sub["snapshot_reason"], sub["max_unacked"]) == ("snapshot", "requested", 1000)
    begin, *stock = got["frames"]
    bounds = {"epoch": sub["epoch"], "as_of_seq": 9, "levels": len(got["levels"]), "reservations": 0}
    assert begin == {"type": "snapshot.begin", **bounds}
    assert all(len(frame["levels"]) <= 7 for frame in stock)
    assert len(stock) == -(-len(got["levels"]) // 7)
    assert got["end"] == {"type": "snapshot.end", **bounds}
    assert _levels(stock) == got["levels"]
    assert [e["seq"] for e in got["live"]] == [10, 11, 12]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("epoch_changed", "epoch_changed"),
        ("too_far_behind", "too_far_behind"),
        ("ahead_of_store", "ahead_of_store"),
        ("beyond_retention", "beyond_retention"),
        ("close_enough", None),
        ("no_epoch", None),
    ],
)
def test_where_the_consumer_stopped_decides_replay_or_snapshot(sqlite_url: str, case: str, reason: str | None) -> None:
    settings = FeedSettings(snapshot_threshold=5)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with feed_server(sqlite_url, seed=STORE, settings=settings) as (server, tokens):
            await _sell(server, tokens, 4)  # seq 1..12
            epoch, _ = await asyncio.to_thread(db_position, sqlite_url)
            subscribe = {
                "epoch_changed": _subscribe(9, epoch="a-restored-database"),
                "too_far_behind": _subscribe(6, epoch=epoch),  # 6 behind, threshold 5
                "ahead_of_store": _subscribe(40, epoch=epoch),
                "beyond_retention": _subscribe(8, epoch=epoch),
                "close_enough": _subscribe(7, epoch=epoch),  # 5 behind
                "no_epoch": _subscribe(7),
            }[case]
            if case == "beyond_retention":
                await asyncio.to_thread(prune_events, sqlite_url, 10)
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, subscribe)
                return await recv(ws), await recv(ws)

    subscribed, first = run(scenario())
    assert subscribed["snapshot_reason"] == reason
    if reason is None:
        assert subscribed["resume"] == "replay"
        assert (first["type"], first["seq"]) == ("event", 8)
    else:
        assert subscribed["resume"] == "snapshot"
        assert (first["type"], first["as_of_seq"]) == ("snapshot.begin", 12)


def test_unacked_cap_stops_sending_until_acked_and_heartbeats_say_why(sqlite_url: str) -> None:
    settings = FeedSettings(max_unacked=5, batch=2)

    async def scenario() -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        async with feed_server(sqlite_url, seed=STORE, heartbeat_s=0.2, settings=settings) as (server, tokens):
            await _sell(server, tokens, 4)  # seq 1..12
            # Blocked at first: the heartbeat comes instead of seq 6. Ack 2 after 3 is older than the last: harmless.
            return await heartbeat_rounds(server, tokens.storefront, _subscribe(), [[3], [2, 8]])

    rounds = run(scenario())
    sent = [[frame["seq"] for frame in events] for events, _ in rounds]
    assert sent == [[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12]]
    beats = [beat for _, beat in rounds]
    assert beats[0] == {"type": "heartbeat", "latest_seq": 12, "sent_seq": 5, "acked_seq": 0}
    assert beats[1] == {"type": "heartbeat", "latest_seq": 12, "sent_seq": 8, "acked_seq": 3}
    assert beats[2] == {"type": "heartbeat", "latest_seq": 12, "sent_seq": 12, "acked_seq": 8}


def test_stuck_consumers_do_not_delay_sales_or_other_consumers(sqlite_url: str) -> None:
    """One consumer never acks, one stops reading altogether; a till and a third consumer carry on."""
    settings = FeedSettings(max_unacked=20)
    sales = 30

    async def scenario() -> tuple[list[float], FeedMirror, dict[LevelKey, StockFigures], int]:
        async with feed_server(sqlite_url, seed=STORE, settings=settings) as (server, tokens):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            progressed = asyncio.Event()
            healthy = FeedConsumer(
                f"ws://127.0.0.1:{server.port}/feed", tokens.storefront, on_event=lambda _e: progressed.set()
            )
            stop = asyncio.Event()
            follower = asyncio.create_task(healthy.run(stop))
            async with (
                raw_feed(server, tokens.storefront) as never_acks,
                raw_feed(server, tokens.storefront, sock=sock, max_queue=1, close_timeout=0.5) as never_reads,
            ):
                await send(never_acks, _subscribe())
                await send(never_reads, _subscribe())
                await recv(never_acks)
                delays = []
                loop = asyncio.get_running_loop()
                async with register(server, tokens.register) as reg:
                    cashier = await reg.login()
                    for _ in range(sales):
                        started = loop.time()
                        reply = await reg.submit(make_sale([("SKU-0001", 1), ("SKU-0002", 1)], cashier_id=cashier))
                        assert reply["type"] == "sale.accepted"
                        delays.append(loop.time() - started)
                final = sales * 3
                async with asyncio.timeout(10):
                    while healthy.mirror.last_seq < final:
                        progressed.clear()
                        await progressed.wait()
                received = sum(frame["type"] == "event" for frame in await drain(never_acks))
            stop.set()
            await follower
            levels = await asyncio.to_thread(db_levels, sqlite_url)
            return delays, healthy.mirror, levels, received

    delays, mirror, levels, received = run(scenario())
    assert max(delays) < 1.0
    assert mirror.levels == levels
    assert received == 20  # exactly the cap, then nothing more without an ack


ERROR_CASES: list[tuple[str, str | bytes, str]] = [
    ("not JSON", "{subscribe", "bad_json"),
    ("not an object", "[1, 2]", "bad_message"),
    ("binary frame", b'{"type":"subscribe","since":0}', "bad_message"),
    ("no type", '{"since": 0}', "bad_message"),
    ("req too long", json.dumps({"type": "subscribe", "since": 0, "req": "r" * 101}), "bad_message"),
    ("unknown type", '{"type": "unsubscribe", "req": "x1"}', "unknown_type"),
    ("negative since", '{"type": "subscribe", "protocol": 2, "since": -1}', "bad_message"),
    ("since as text", '{"type": "subscribe", "protocol": 2, "since": "3"}', "bad_message"),
    ("since missing", '{"type": "subscribe", "protocol": 2}', "bad_message"),
    ("since a float", '{"type": "subscribe", "protocol": 2, "since": 1.5}', "bad_message"),
    ("epoch a number", '{"type": "subscribe", "protocol": 2, "since": 0, "epoch": 7}', "bad_message"),
    ("epoch too long", json.dumps({"type": "subscribe", "protocol": 2, "since": 0, "epoch": "e" * 65}), "bad_message"),
    ("snapshot as text", '{"type": "subscribe", "protocol": 2, "since": 0, "snapshot": "yes"}', "bad_message"),
    ("protocol as text", '{"type": "subscribe", "protocol": "2", "since": 0}', "bad_message"),
    ("protocol 4", '{"type": "subscribe", "protocol": 4, "since": 0}', "unsupported_protocol"),
    ("epoch under protocol 1", '{"type": "subscribe", "since": 0, "epoch": "e"}', "bad_message"),
    ("ack first", '{"type": "ack", "seq": 0, "req": "a1"}', "not_subscribed"),
]


def test_every_bad_frame_gets_its_error_and_the_connection_stays_usable(sqlite_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        got: dict[str, Any] = {}
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 1)  # seq 1..3
            async with raw_feed(server, tokens.storefront) as ws:
                for name, frame, _ in ERROR_CASES:
                    await send(ws, frame) if isinstance(frame, str) else await ws.send(frame)
                    got[name] = await recv(ws)
                # Still usable: subscribe now, then the errors that need a subscription.
                await send(ws, _subscribe())
                got["subscribed"] = await recv(ws)
                got["replayed"] = [await recv(ws) for _ in range(3)]
                await send(ws, _subscribe(req="again"))
                got["second subscribe"] = await recv(ws)
                await send(ws, {"type": "ack", "seq": 4, "req": "a2"})
                got["ack beyond sent"] = await recv(ws)
                for name, message in [
                    ("negative ack", {"type": "ack", "seq": -1}),
                    ("ack as text", {"type": "ack", "seq": "3"}),
                    ("ack without seq", {"type": "ack"}),
                ]:
                    await send(ws, message)
                    got[name] = await recv(ws)
                await send(ws, {"type": "ack", "seq": 3})
                await _sell(server, tokens, 1)
                got["live after errors"] = await recv(ws)
        return got

    got = run(scenario())
    for name, _, code in ERROR_CASES:
        assert got[name]["type"] == "error", name
        assert got[name]["code"] == code, name
        assert got[name]["message"].endswith("."), name
    assert got["unknown type"]["req"] == "x1"
    assert got["ack first"]["req"] == "a1"
    assert got["subscribed"]["type"] == "subscribed"
    assert [e["seq"] for e in got["replayed"]] == [1, 2, 3]
    assert (got["second subscribe"]["code"], got["second subscribe"]["req"]) == ("already_subscribed", "again")
    assert (got["ack beyond sent"]["code"], got["ack beyond sent"]["req"]) == ("bad_ack", "a2")
    assert "beyond seq 3" in got["ack beyond sent"]["message"]
    for name in ("negative ack", "ack as text", "ack without seq"):
        assert got[name]["code"] == "bad_message", name
    assert (got["live after errors"]["type"], got["live after errors"]["seq"]) == ("event", 4)


def test_replies_come_in_the_order_of_their_requests_subscribed_first(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 1)  # seq 1..3
            async with raw_feed(server, tokens.storefront) as ws:
                # Sent at once: the errors must not overtake the subscription's reply.
                await send(ws, _subscribe())
                await send(ws, {"type": "ack", "seq": 50, "req": "b1"})
                await send(ws, _subscribe(req="b2"))
                frames = [await recv(ws) for _ in range(6)]
        return frames

    frames = run(scenario())
    replies = [f for f in frames if f["type"] != "event"]
    assert [(f["type"], f.get("code"), f.get("req")) for f in replies] == [
        ("subscribed", None, None),
        ("error", "bad_ack", "b1"),
        ("error", "already_subscribed", "b2"),
    ]
    assert [f["seq"] for f in frames if f["type"] == "event"] == [1, 2, 3]


def test_protocol_1_subscriber_whose_events_are_pruned_is_told_to_take_a_snapshot(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 2)  # seq 1..6
            await asyncio.to_thread(prune_events, sqlite_url, 3)
            async with raw_feed(server, tokens.storefront) as ws:
                await send(ws, {"type": "subscribe", "since": 1})
                refused = await recv(ws)
                await send(ws, _subscribe(1))  # the same connection, now under revision 2
                return refused, await recv(ws), await recv(ws)

    refused, subscribed, begin = run(scenario())
    assert (refused["type"], refused["code"]) == ("error", "snapshot_required")
    assert (subscribed["resume"], subscribed["snapshot_reason"]) == ("snapshot", "beyond_retention")
    assert (begin["type"], begin["as_of_seq"]) == ("snapshot.begin", 6)


def test_a_subscription_sent_behind_one_that_is_refused_is_the_subscription(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with feed_server(sqlite_url, seed=STORE) as (server, tokens):
            await _sell(server, tokens, 2)  # seq 1..6
            await asyncio.to_thread(prune_events, sqlite_url, 3)
            async with raw_feed(server, tokens.storefront) as ws:
                # Sent at once, without waiting for the first's answer.
                await send(ws, {"type": "subscribe", "since": 1, "req": "r1"})  # revision 1: refused
                await send(ws, _subscribe(6, req="r2"))
                await send(ws, _subscribe(0, req="r3"))  # one too many
                frames = [await recv(ws) for _ in range(3)]
                await _sell(server, tokens, 1)
                frames.append(await recv(ws))
                return frames

    refused, subscribed, third, live = run(scenario())
    assert (refused["code"], refused["req"]) == ("snapshot_required", "r1")
    assert (subscribed["type"], subscribed["req"], subscribed["resume"]) == ("subscribed", "r2", "replay")
    assert (third["code"], third["req"]) == ("already_subscribed", "r3")
    assert (live["type"], live["seq"]) == ("event", 7)


def test_connection_that_never_subscribes_is_closed(sqlite_url: str) -> None:
    async def scenario() -> int | None:
        settings = FeedSettings(subscribe_timeout_s=0.3)
        async with (
            feed_server(sqlite_url, settings=settings) as (server, tokens),
            raw_feed(server, tokens.storefront) as ws,
        ):
            with pytest.raises(ConnectionClosed):
                await recv(ws, 5)
            return ws.close_code

    assert run(scenario()) == 1008


def test_oversize_frame_closes_with_1009(sqlite_url: str) -> None:
    async def scenario() -> int | None:
        async with feed_server(sqlite_url) as (server, tokens), raw_feed(server, tokens.storefront) as ws:
            await send(ws, json.dumps({"type": "subscribe", "since": 0, "pad": "x" * 300_000}))
            with pytest.raises(ConnectionClosed):
                await recv(ws, 5)
            return ws.close_code

    assert run(scenario()) == 1009


def test_reference_client_takes_a_snapshot_first_and_acks_as_it_goes(sqlite_url: str) -> None:
    settings = FeedSettings(max_unacked=4, batch=3, snapshot_batch=10)

    async def scenario() -> tuple[FeedMirror, dict[LevelKey, StockFigures], list[int], int]:
        async with feed_server(sqlite_url, seed=STORE, settings=settings) as (server, tokens):
            await _sell(server, tokens, 2)  # seq 1..6, before the consumer exists
            snapshots: list[int] = []
            progressed = asyncio.Event()
            consumer = FeedConsumer(
                f"ws://127.0.0.1:{server.port}/feed",
                tokens.storefront,
                on_snapshot=lambda s: snapshots.append(s.as_of_seq),
                on_event=lambda _e: progressed.set(),
                backoff=Backoff(first_s=0.01),
            )
            stop = asyncio.Event()
            follower = asyncio.create_task(consumer.run(stop))
            await _sell(server, tokens, 10)  # 30 more events through a window of 4
            async with asyncio.timeout(10):
                while consumer.mirror.last_seq < 36:
                    progressed.clear()
                    await progressed.wait()
            stop.set()
            await follower
            levels = await asyncio.to_thread(db_levels, sqlite_url)
            return consumer.mirror, levels, snapshots, sum(consumer.lost.values())

    mirror, levels, snapshots, lost = run(scenario())
    assert len(snapshots) == 1
    assert snapshots[0] >= 6
    assert mirror.levels == levels
    assert lost == 0


async def _snapshot(server: StoreServer, tokens: Tokens) -> tuple[int, dict[LevelKey, StockFigures]]:
    async with raw_feed(server, tokens.storefront) as ws:
        await send(ws, _subscribe(snapshot=True))
        frames, end = await until(ws, "snapshot.end")
        return end["as_of_seq"], _levels(frames)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_snapshots_taken_while_lanes_sell_are_exactly_the_log_at_their_seq(
    db: str, request: pytest.FixtureRequest
) -> None:
    """Levels and as_of_seq come from one consistent read, on both databases."""
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    wanted = 30

    async def scenario() -> tuple[list[tuple[int, dict[LevelKey, StockFigures]]], list[FeedEvent]]:
        async with feed_server(url, seed=STORE) as (server, tokens):
            taken = [await _snapshot(server, tokens)]
            lanes = Lanes(server, tokens.register, PRODUCTS, random.Random(3))
            selling = asyncio.create_task(lanes.run(3, lambda: len(taken) <= wanted))
            await lanes.wait_committed(1)
            while len(taken) <= wanted:
                taken.append(await _snapshot(server, tokens))
            await selling
            events = await asyncio.to_thread(_all_events, url)
            return taken, events

    taken, events = run(scenario())
    (start, baseline), *during = taken
    assert start == 0
    assert len({as_of for as_of, _ in during}) > 1, "the lanes did not sell while snapshots were taken"
    for as_of, levels in during:
        expected = dict(baseline)
        for event in events:
            if event.seq <= as_of and event.type == "stock.changed":
                key, figures = StockFigures.from_wire(event.data)
                expected[key] = figures
        assert levels == expected, f"the snapshot as of {as_of} is not the store at seq {as_of}"


def _all_events(url: str) -> list[FeedEvent]:
    db = open_database(url)
    try:
        with db.read() as session:
            return read_events(session, 0, 1_000_000)
    finally:
        db.close()
