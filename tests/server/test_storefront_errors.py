"""Every refusal on ``/storefront`` is a precise error reply, writes nothing and leaves the
connection usable; tokens open only what their scopes allow. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pos_core.protocol import MAX_MESSAGE_BYTES
from store_server import storefront_endpoint
from store_server.storefront_protocol import STOREFRONT_ERRORS
from tests.server.inventory_support import DATABASES, shop_url
from tests.server.storefront_support import Storefront, fingerprint, issue, rid, storefront, storefront_server
from tests.server.support import feed_url, run
from tests.server.test_storefront_commands import _make_ready

LINE = {"sku": "SKU-0001", "quantity": 1}


def _reserve(**fields: Any) -> dict[str, Any]:
    return {"type": "reservation.reserve", "request_id": rid(), "lines": [LINE], "ttl_s": 600, **fields}


def _place(**fields: Any) -> dict[str, Any]:
    return {"type": "order.place", "request_id": rid(), "channel": "pickup", "lines": [LINE], **fields}


def _lines(*quantities: Any) -> list[dict[str, Any]]:
    return [{"sku": "SKU-0001", "quantity": q} for q in quantities]


BAD_MESSAGES: list[dict[str, Any] | str | bytes] = [
    b'{"type":"stock.query","skus":["SKU-0001"]}',  # a binary frame
    "[]",
    '{"skus":["SKU-0001"]}',
    '{"type":"stock.query","req":7,"skus":["SKU-0001"]}',
    {"type": "stock.query"},
    {"type": "stock.query", "skus": "SKU-0001"},
    {"type": "stock.query", "skus": []},
    {"type": "stock.query", "skus": [f"SKU-{n}" for n in range(1001)]},
    {"type": "stock.query", "skus": [1]},
    {"type": "stock.query", "skus": ["SKU-0001"], "location": 3},
    {"type": "reservation.reserve", "lines": [LINE], "ttl_s": 600},
    _reserve(request_id="x" * 37),
    _reserve(request_id=12),
    _reserve(ttl_s="600"),
    _reserve(ttl_s=0),
    _reserve(ttl_s=91 * 24 * 3600),
    _reserve(ttl_s=True),
    _reserve(lines={"SKU-0001": 1}),
    _reserve(lines=["SKU-0001"]),
    _reserve(lines=[{"quantity": 1}]),
    _reserve(lines=[{"sku": "S" * 65, "quantity": 1}]),
    _reserve(lines=_lines("2")),
    _reserve(lines=_lines(None)),
    _reserve(lines=_lines(True)),
    {"type": "reservation.commit", "request_id": rid()},
    {"type": "reservation.release", "request_id": rid(), "reservation_id": 5},
    _place(channel="in_store"),
    _place(channel="drone"),
    _place(channel=["pickup"]),
    _place(channel={"pickup": 1}),
    _place(hold_s=59),
    _place(reference=""),
    _place(customer_name="x" * 201),
    {"type": "order.update", "request_id": rid(), "order_id": rid()},
    {"type": "order.cancel", "request_id": rid()},
    {"type": "order.get"},
]
INVALID_QUANTITIES = [
    _reserve(lines=_lines(-1)),
    _reserve(lines=_lines(0)),
    _reserve(lines=_lines(1.5)),
    _reserve(lines=_lines(10_000_001)),
    _reserve(lines=_lines(10**30)),
    _reserve(lines=[]),
    _reserve(lines=_lines(*[1] * 501)),
    _place(lines=_lines(-3)),
]


async def _refused(sf: Storefront, url: str, message: dict[str, Any] | str | bytes, code: str) -> dict[str, Any]:
    """Send ``message``: the error ``code`` comes back, nothing is written, and the connection still answers."""
    before = await asyncio.to_thread(fingerprint, url)
    if isinstance(message, dict):
        reply = await sf.request(message)
    else:
        reply = await sf.send_raw(message)
    assert reply["type"] == "error", (message, reply)
    assert reply["code"] == code, (message, reply)
    assert reply["message"].endswith("."), reply
    assert await asyncio.to_thread(fingerprint, url) == before, message
    probe = await sf.request({"type": "stock.query", "skus": ["SKU-0001"]})  # the connection still answers
    assert probe["type"] == "stock.levels" or probe["code"] == "forbidden_scope", probe
    return reply


@pytest.mark.parametrize("kind", DATABASES)
def test_every_refusal_is_an_error_reply_that_writes_nothing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    url = shop_url(request, kind)
    seen: set[str] = set()

    async def scenario() -> None:
        async with storefront_server(url) as (server, tokens):
            reader = await asyncio.to_thread(issue, url, scopes=["stock:read"])
            async with storefront(server, tokens.storefront) as sf, storefront(server, reader) as ro:

                async def refused(message: dict[str, Any] | str | bytes, code: str, via: Storefront = sf) -> None:
                    await _refused(via, url, message, code)
                    seen.add(code)

                await refused("{not json", "bad_json")
                for message in BAD_MESSAGES:
                    await refused(message, "bad_message")
                for message in INVALID_QUANTITIES:
                    await refused(message, "invalid_quantity")
                for kind_ in ("sale.submit", "subscribe", "order.ship", "reservation.expire"):
                    await refused({"type": kind_}, "unknown_type")

                await refused({"type": "stock.query", "skus": ["SKU-0001", "SKU-9999"]}, "unknown_sku")
                await refused(_reserve(lines=[LINE, {"sku": "SKU-9999", "quantity": 1}]), "unknown_sku")
                await refused(_place(lines=[{"sku": "NOPE", "quantity": 1}]), "unknown_sku")
                await refused({"type": "stock.query", "skus": ["SKU-0001"], "location": "attic"}, "unknown_location")
                await refused(_reserve(location="attic"), "unknown_location")
                await refused(_place(location="attic"), "unknown_location")

                short = await _refused(
                    sf, url, _reserve(lines=[{"sku": "SKU-0002", "quantity": 6}]), "insufficient_stock"
                )
                assert short["short"] == [{"sku": "SKU-0002", "requested": 6, "available": 5}]
                seen.add("insufficient_stock")

                await refused(
                    {"type": "reservation.commit", "request_id": rid(), "reservation_id": rid()}, "unknown_reservation"
                )
                held = await sf.reserve(("SKU-0001", 1))
                release = {"type": "reservation.release", "request_id": rid(), "reservation_id": held["request_id"]}
                assert (await sf.request(release))["reservation"]["status"] == "released"
                for verb in ("commit", "release"):
                    again = {"type": f"reservation.{verb}", "request_id": rid(), "reservation_id": held["request_id"]}
                    await refused(again, "reservation_not_pending")

                await refused({"type": "order.cancel", "request_id": rid(), "order_id": rid()}, "unknown_order")
                await refused({"type": "order.get", "order_id": rid()}, "unknown_order")
                update = {"type": "order.update", "request_id": rid(), "order_id": rid(), "lines": [LINE]}
                await refused(update, "unknown_order")

                placed = (await sf.place(("SKU-0001", 1)))["order"]
                await refused(
                    {"type": "order.collect", "request_id": rid(), "order_id": placed["order_id"]}, "illegal_transition"
                )
                hold = placed["reservation_id"]  # an order's hold moves with the order, not on its own
                await refused(
                    {"type": "reservation.commit", "request_id": rid(), "reservation_id": hold}, "illegal_transition"
                )
                shipping = (await sf.place(("SKU-0001", 1), channel="ship_from_store"))["order"]
                await asyncio.to_thread(_make_ready, url, shipping["order_id"])
                collect = {"type": "order.collect", "request_id": rid(), "order_id": shipping["order_id"]}
                await refused(collect, "illegal_transition")  # shipped by the store, never collected
                cancel = {"type": "order.cancel", "request_id": rid(), "order_id": placed["order_id"]}
                assert (await sf.request(cancel))["order"]["status"] == "cancelled"
                update = {"type": "order.update", "request_id": rid(), "order_id": placed["order_id"], "lines": [LINE]}
                await refused(update, "illegal_transition")

                reserve = _reserve()
                await sf.request(reserve)
                await refused({**reserve, "ttl_s": 900}, "idempotency_conflict")
                await refused(_reserve(request_id=hold), "idempotency_conflict")  # the order's hold has that id

                denied = await _refused(ro, url, _reserve(), "forbidden_scope")
                assert denied["scope"] == "stock:reserve"
                seen.add("forbidden_scope")

                def broken(*_args: Any) -> Any:
                    raise RuntimeError("disk on fire")

                monkeypatch.setattr(storefront_endpoint, "availability", broken)
                failed = await sf.request({"type": "stock.query", "skus": ["SKU-0001"]})
                assert (failed["code"], failed["message"]) == (
                    "internal",
                    "The store server failed; send the same request again.",
                )
                seen.add("internal")
                monkeypatch.undo()
                assert (await sf.levels("SKU-0001"))["SKU-0001"]["sku"] == "SKU-0001"

    run(scenario())
    assert seen == set(STOREFRONT_ERRORS)


def test_an_oversize_frame_closes_with_1009_and_writes_nothing(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with storefront_server(sqlite_url) as (server, tokens):
            before = await asyncio.to_thread(fingerprint, sqlite_url)
            async with storefront(server, tokens.storefront, max_size=None) as sf:
                huge = json.dumps(_reserve(lines=[LINE] * (MAX_MESSAGE_BYTES // len(json.dumps(LINE)) + 1)))
                assert len(huge) > MAX_MESSAGE_BYTES
                await sf.ws.send(huge)
                with pytest.raises(ConnectionClosed) as closed:
                    await sf.receive()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1009
            assert await asyncio.to_thread(fingerprint, sqlite_url) == before
            async with storefront(server, tokens.storefront) as sf:
                assert (await sf.levels("SKU-0001"))["SKU-0001"]["on_hand"] == 10

    run(scenario())


async def _status(url: str, token: str) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}):
            pass
    return info.value.response.status_code, (info.value.response.body or b"").decode()


@pytest.mark.parametrize("kind", DATABASES)
def test_a_token_does_only_what_its_scopes_allow(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)

    async def scenario() -> None:
        async with storefront_server(url) as (server, tokens):
            commands = f"ws://127.0.0.1:{server.port}/storefront"
            feed_only = await asyncio.to_thread(issue, url, scopes=["feed:read"])
            reader = await asyncio.to_thread(issue, url, scopes=["stock:read"])
            orders = await asyncio.to_thread(issue, url, scopes=["orders:write", "orders:read"])
            assert await _status(commands, tokens.register) == (
                403,
                "A register token cannot open /storefront; use a storefront token.\n",
            )
            status, body = await _status(commands, feed_only)
            assert status == 403
            assert "no scope that /storefront serves" in body
            status, body = await _status(feed_url(server), reader)
            assert status == 403
            assert "no scope that /feed serves (feed:read)" in body
            assert (await _status(commands, "not-a-token"))[0] == 401
            async with connect(feed_url(server), additional_headers={"Authorization": f"Bearer {feed_only}"}):
                pass

            async with storefront(server, reader) as ro, storefront(server, orders) as shop:
                assert (await ro.levels("SKU-0001"))["SKU-0001"]["available"] == 10
                for message, scope in (
                    (_reserve(), "stock:reserve"),
                    ({"type": "reservation.commit", "request_id": rid(), "reservation_id": rid()}, "stock:reserve"),
                    (_place(), "orders:write"),
                    ({"type": "order.get", "order_id": rid()}, "orders:read"),
                    (_reserve(ttl_s="soon", lines="all of it"), "stock:reserve"),  # the scope is checked first
                ):
                    denied = await _refused(ro, url, message, "forbidden_scope")
                    assert denied["scope"] == scope
                    assert f"lacks the {scope} scope" in denied["message"]
                placed = await shop.place(("SKU-0002", 1))
                assert placed["order"]["status"] == "reserved"
                assert (await _refused(shop, url, _reserve(), "forbidden_scope"))["scope"] == "stock:reserve"
                query = {"type": "stock.query", "skus": ["SKU-0001"]}
                assert (await shop.request(query))["scope"] == "stock:read"
                assert (await shop.request({"type": "order.get", "order_id": placed["request_id"]}))["type"] == "order"

    run(scenario())
