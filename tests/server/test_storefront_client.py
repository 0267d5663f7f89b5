"""The reference ``/storefront`` client over real sockets: every command, every refusal as one
exception with its documented code, and a reply lost on the way sent again with the same
request id, which the store does once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from pos_core.protocol import SCOPE_STOCK_READ
from store_server.feed_client import Backoff
from store_server.storefront_client import REFUSED, UNREACHABLE, StorefrontClient, StorefrontError
from tests.server.inventory_support import DATABASES, shop_url
from tests.server.storefront_support import fingerprint, issue, rid, storefront_server, storefront_url
from tests.server.support import run
from tests.server.test_storefront_commands import _make_ready

QUICK = Backoff(first_s=0.01, most_s=0.05)


@pytest.mark.parametrize("kind", DATABASES)
def test_the_client_reserves_orders_and_hands_over_over_real_sockets(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)

    async def scenario() -> None:
        async with (
            storefront_server(url) as (server, tokens),
            StorefrontClient(storefront_url(server), tokens.storefront) as store,
        ):
            levels = await store.availability(["SKU-0002", "SKU-0001"])
            assert (levels.levels["SKU-0002"].available, levels.levels["SKU-0001"].available) == (5, 10)

            cart = await store.reserve([("SKU-0002", 2)], ttl_s=900)
            assert (cart.status, cart.lines, cart.levels["SKU-0002"].reserved) == ("pending", {"SKU-0002": 2}, 2)
            assert cart.request_id == cart.reservation_id
            assert not cart.duplicate
            assert cart.seq is not None
            released = await store.release(cart.reservation_id)
            assert released.status == "released"
            assert released.levels["SKU-0002"].available == 5
            sold = await store.commit((await store.reserve([("SKU-0001", 1)], ttl_s=60)).reservation_id)
            assert sold.status == "committed"
            assert sold.levels["SKU-0001"].on_hand == 9

            order = await store.place_order([("SKU-0003", 5)], "pickup", reference="WEB-7", customer_name="Kim")
            assert (order.status, order.short, order.lines[0].reserved) == ("placed", 2, 3)
            order = await store.update_order(order.order_id, [("SKU-0003", 3)])
            assert (order.status, order.short) == ("reserved", 0)
            await asyncio.to_thread(_make_ready, url, order.order_id)
            collected = await store.collect(order.order_id)
            assert collected.status == "picked_up"
            assert (await store.get_order(order.order_id)).status == "picked_up"

            gone = await store.place_order([("SKU-0001", 1)], "ship_from_store")
            assert (await store.cancel_order(gone.order_id)).status == "cancelled"
            assert store.reconnects == 0

    run(scenario())


def test_every_refusal_is_one_exception_with_its_documented_code(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with storefront_server(sqlite_url) as (server, tokens):
            async with StorefrontClient(storefront_url(server), tokens.storefront) as store:
                before = await asyncio.to_thread(fingerprint, sqlite_url)
                with pytest.raises(StorefrontError) as short:
                    await store.reserve([("SKU-0002", 4), ("SKU-0002", 2)], ttl_s=60)
                assert short.value.code == "insufficient_stock"
                assert short.value.short == ({"sku": "SKU-0002", "requested": 6, "available": 5},)
                assert short.value.request_id is not None
                with pytest.raises(StorefrontError) as unknown:
                    await store.cancel_order("no-such-order")
                assert unknown.value.code == "unknown_order"
                assert "There is no order no-such-order" in str(unknown.value)
                with pytest.raises(StorefrontError, match="SKU-404") as sku:
                    await store.availability(["SKU-404"])
                assert sku.value.code == "unknown_sku"
                assert await asyncio.to_thread(fingerprint, sqlite_url) == before
                # The same request id for other content is refused, and the connection goes on.
                first = await store.reserve([("SKU-0001", 1)], ttl_s=60, request_id="dup-1")
                with pytest.raises(StorefrontError) as conflict:
                    await store.reserve([("SKU-0001", 2)], ttl_s=60, request_id="dup-1")
                assert conflict.value.code == "idempotency_conflict"
                again = await store.reserve([("SKU-0001", 1)], ttl_s=60, request_id="dup-1")
                assert again.duplicate
                assert again.seq is None
                assert again.reservation_id == first.reservation_id

            reader = await asyncio.to_thread(issue, sqlite_url, "storefront", [SCOPE_STOCK_READ], "reader")
            async with StorefrontClient(storefront_url(server), reader) as store:
                with pytest.raises(StorefrontError) as scope:
                    await store.reserve([("SKU-0001", 1)], ttl_s=60)
                assert (scope.value.code, scope.value.scope) == ("forbidden_scope", "stock:reserve")
            async with StorefrontClient(storefront_url(server), "pos_storefront_wrong") as store:
                with pytest.raises(StorefrontError, match="unknown or revoked") as refused:
                    await store.availability(["SKU-0001"])
                assert refused.value.code == REFUSED

    run(scenario())


@asynccontextmanager
async def _losing_first_reply(target: str) -> AsyncIterator[str]:
    """A websocket relay to ``target`` that drops its first client after the store has answered,
    without passing the answer on: the command was done, and the client cannot know it."""
    dropped = asyncio.Event()

    async def relay(client: ServerConnection) -> None:
        assert client.request is not None
        auth = client.request.headers["Authorization"]
        async with connect(target, additional_headers={"Authorization": auth}) as upstream:
            async for frame in client:
                await upstream.send(frame)
                reply = await upstream.recv()
                if not dropped.is_set():
                    dropped.set()
                    await client.close()
                    return
                await client.send(reply)

    async with serve(relay, "127.0.0.1", 0) as proxy:
        port = next(iter(proxy.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/storefront"


def test_a_lost_reply_is_sent_again_with_the_same_request_id_and_done_once(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with (
            storefront_server(sqlite_url) as (server, tokens),
            _losing_first_reply(storefront_url(server)) as via,
            StorefrontClient(via, tokens.storefront, backoff=QUICK) as store,
        ):
            held = await store.reserve([("SKU-0002", 2)], ttl_s=600, request_id=(key := rid()))
            assert store.reconnects == 1
            assert (held.request_id, held.duplicate, held.seq) == (key, True, None)  # the first try went through
            levels = await store.availability(["SKU-0002"])
            assert (levels.levels["SKU-0002"].reserved, levels.levels["SKU-0002"].available) == (2, 3)  # held once

    run(scenario())


def test_a_store_that_cannot_be_reached_is_one_error_after_trying_for_a_while() -> None:
    async def scenario() -> None:
        async with StorefrontClient("ws://127.0.0.1:9/storefront", "t", backoff=QUICK, give_up_s=0.3) as store:
            with pytest.raises(StorefrontError, match=r"did not answer reservation\.reserve within") as gone:
                await store.reserve([("SKU-0001", 1)], ttl_s=60)
            assert gone.value.code == UNREACHABLE
            assert store.reconnects >= 2

    run(scenario())
