"""A snapshot carries the open reservations with the levels, both exactly as of its seq: a
storefront that starts from one knows what is held, by whom and until when, and the reference
consumer keeps that up to date from the ``reservation.*`` events; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from websockets.asyncio.client import connect

from store_server.feed_client import Backoff, FeedConsumer, HeldStock
from store_server.server import StoreServer
from store_server.storefront_client import StorefrontClient
from tests.server.inventory_support import DATABASES, shop_url
from tests.server.storefront_support import storefront_server, storefront_url
from tests.server.support import run


async def _snapshot(server: StoreServer, token: str) -> list[dict[str, Any]]:
    """The frames of one requested snapshot, ``snapshot.begin`` to ``snapshot.end``."""
    url = f"ws://127.0.0.1:{server.port}/feed"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "subscribe", "protocol": 2, "since": 0, "snapshot": True}))
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not frames or frames[-1]["type"] != "snapshot.end":
                frame = json.loads(await ws.recv())
                if frame["type"].startswith("snapshot."):
                    frames.append(frame)
        return frames


def _held(frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["reservation_id"]: r for f in frames if f["type"] == "snapshot.reservations" for r in f["reservations"]}


def _reserved(frames: list[dict[str, Any]]) -> dict[str, int]:
    return {lv["sku"]: lv["reserved"] for f in frames if f["type"] == "snapshot.stock" for lv in f["levels"]}


def _summed(held: dict[str, dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for reservation in held.values():
        for line in reservation["lines"]:
            total[line["sku"]] += line["quantity"]
    return total


@pytest.mark.parametrize("kind", DATABASES)
def test_a_snapshot_after_reservations_carries_them_as_of_its_seq(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)

    async def scenario() -> None:
        async with (
            storefront_server(url) as (server, tokens),
            StorefrontClient(storefront_url(server), tokens.storefront) as store,
        ):
            cart = await store.reserve([("SKU-0002", 2), ("SKU-0001", 1)], ttl_s=900)
            order = await store.place_order([("SKU-0001", 3)], "pickup", reference="WEB-1")
            gone = await store.reserve([("SKU-0003", 1)], ttl_s=900)
            last = await store.release(gone.reservation_id)  # closed: not in the snapshot

            frames = await _snapshot(server, tokens.storefront)
            begin, end = frames[0], frames[-1]
            assert begin["as_of_seq"] == end["as_of_seq"] == last.seq
            assert begin["reservations"] == end["reservations"] == 2
            held = _held(frames)
            assert held[cart.reservation_id] == {
                "reservation_id": cart.reservation_id,
                "status": "pending",
                "location": "main",
                "expires_at": cart.expires_at,
                "order_id": None,
                "lines": [{"sku": "SKU-0001", "quantity": 1}, {"sku": "SKU-0002", "quantity": 2}],
            }
            assert order.reservation_id is not None
            assert held[order.reservation_id]["order_id"] == order.order_id
            assert held[order.reservation_id]["lines"] == [{"sku": "SKU-0001", "quantity": 3}]
            reserved = _reserved(frames)
            assert (reserved["SKU-0001"], reserved["SKU-0002"], reserved["SKU-0003"]) == (4, 2, 0)
            assert _summed(held) == +Counter(reserved)  # each level's reserved is what the holds hold

            # The reference consumer starts from such a snapshot, then keeps the holds from events.
            moved = asyncio.Event()
            consumer = FeedConsumer(
                f"ws://127.0.0.1:{server.port}/feed",
                tokens.storefront,
                backoff=Backoff(0.01),
                on_event=lambda _e: moved.set(),
                on_snapshot=lambda _s: moved.set(),
            )

            async def reached(seq: int | None) -> None:
                async with asyncio.timeout(10):
                    while consumer.mirror.last_seq < (seq or 0):
                        moved.clear()
                        await moved.wait()

            stop = asyncio.Event()
            follower = asyncio.create_task(consumer.run(stop))
            await reached(last.seq)
            assert set(consumer.mirror.reservations) == {cart.reservation_id, order.reservation_id}
            assert consumer.mirror.reservations[cart.reservation_id] == HeldStock(
                cart.reservation_id, "main", cart.expires_at, None, {"SKU-0001": 1, "SKU-0002": 2}
            )
            committed = await store.commit(cart.reservation_id)
            more = await store.reserve([("SKU-0003", 2)], ttl_s=60)
            await reached(more.seq)
            stop.set()
            await follower
            assert committed.seq is not None
            assert set(consumer.mirror.reservations) == {order.reservation_id, more.reservation_id}
            assert consumer.mirror.reservations[more.reservation_id].lines == {"SKU-0003": 2}

    run(scenario())


@pytest.mark.parametrize("kind", DATABASES)
def test_snapshots_taken_while_holds_come_and_go_always_add_up(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)

    async def scenario() -> int:
        async with storefront_server(url) as (server, tokens):
            done = asyncio.Event()

            async def churn() -> None:
                try:
                    async with StorefrontClient(storefront_url(server), tokens.storefront) as store:
                        for n in range(30):  # keeps 3 holds of 10 granted: 6 of SKU-0001's 10, 3 of SKU-0002's 5
                            held = await store.reserve([("SKU-0001", 1 + n % 2), ("SKU-0002", 1)], ttl_s=600)
                            if n % 10:
                                await store.release(held.reservation_id)
                finally:
                    done.set()

            churning = asyncio.create_task(churn())
            checked = 0
            while not done.is_set() or checked == 0:
                frames = await _snapshot(server, tokens.storefront)
                held = _held(frames)
                assert frames[0]["reservations"] == len(held)
                assert _summed(held) == +Counter(_reserved(frames)), frames
                checked += 1
            await churning  # raises what the churn met
            return checked

    assert run(scenario()) >= 1
