"""The server expires holds whose time ran out, by itself, and the storefront hears of it at once.

The server's clock is the test's: nothing expires until the test moves it, and then the timer
(ticking every 20 ms) expires it; the test waits for the feed event, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from store_server.db.engine import Database, open_database
from store_server.expiry_timer import ExpiryTimer
from store_server.usecases import expiry
from store_server.usecases.reservations import Reserve, reserve
from tests.server.inventory_support import DATABASES, lines, open_shop, shop_url
from tests.server.storefront_support import FakeClock, fingerprint, rid, storefront, storefront_server, watch_feed
from tests.server.support import run

TICK_S = 0.02


@pytest.mark.parametrize("kind", DATABASES)
def test_expired_holds_go_back_on_the_shelf_and_the_feed_says_so_at_once(
    request: pytest.FixtureRequest, kind: str
) -> None:
    url = shop_url(request, kind)
    clock = FakeClock()

    async def scenario() -> None:
        async with (
            storefront_server(url, clock=clock, expiry_interval_s=TICK_S) as (server, tokens),
            storefront(server, tokens.storefront) as sf,
            watch_feed(server, tokens.storefront) as feed,
        ):
            cart = await sf.reserve(("SKU-0002", 2), ttl_s=60)
            order = await sf.place(("SKU-0001", 3), hold_s=120)
            kept = await sf.reserve(("SKU-0002", 1), ttl_s=3600)
            await feed.through(kept["seq"])
            assert await server.expire_due_now() == 0  # the timer runs, but by its clock nothing is due

            clock.advance(60)  # the cart's time is up
            events = await feed.through(kept["seq"] + 2)
            assert [e["event"] for e in events] == ["stock.changed", "reservation.expired"]
            assert events[0]["data"]["movement"]["reason"] == "expiry"
            assert events[0]["data"]["available"] == 4  # 5 on hand, 1 still held by the other cart
            assert events[1]["data"]["reservation_id"] == cart["request_id"]
            assert events[1]["data"]["status"] == "expired"

            clock.advance(60)  # and the order's hold: the order waits as placed, holding nothing
            events = await feed.through(feed.seen + 3)
            assert [e["event"] for e in events] == ["stock.changed", "reservation.expired", "order.updated"]
            updated = events[-1]["data"]
            assert (updated["order_id"], updated["status"]) == (order["request_id"], "placed")
            assert [(ln["reserved"], ln["short"]) for ln in updated["lines"]] == [(0, 3)]

            release = {"type": "reservation.release", "request_id": rid(), "reservation_id": cart["request_id"]}
            assert (await sf.request(release))["code"] == "reservation_not_pending"
            commit = {"type": "reservation.commit", "request_id": rid(), "reservation_id": kept["request_id"]}
            assert (await sf.request(commit))["reservation"]["status"] == "committed"
            levels = await sf.levels("SKU-0001", "SKU-0002")
            assert (levels["SKU-0001"]["reserved"], levels["SKU-0002"]["on_hand"]) == (0, 4)

    run(scenario())


@pytest.mark.parametrize("kind", DATABASES)
def test_a_hold_past_its_time_is_not_committed_even_before_the_sweep(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)
    clock = FakeClock()

    async def scenario() -> None:
        async with (
            storefront_server(url, clock=clock, expiry_interval_s=3600) as (server, tokens),
            storefront(server, tokens.storefront) as sf,
        ):
            cart = await sf.reserve(("SKU-0002", 2), ttl_s=60)
            before = await asyncio.to_thread(fingerprint, url)
            clock.advance(60)  # its time is up; the sweep is an hour away
            for command in ("reservation.commit", "reservation.release"):
                refused = await sf.request({"type": command, "request_id": rid(), "reservation_id": cart["request_id"]})
                assert refused["code"] == "reservation_not_pending", refused
                assert "expired at 2026-11-27T10:01:00.000000+00:00" in refused["message"]
            assert await asyncio.to_thread(fingerprint, url) == before
            assert await server.expire_due_now() == 1

    run(scenario())


def _reserve_many(db: Database, count: int, now: datetime) -> None:
    with db.write() as session:
        for _ in range(count):
            reserve(session, Reserve(rid(), "storefront:web", lines(("SKU-0001", 1)), 60), now)


def test_a_backlog_expires_a_batch_per_transaction_and_a_failed_sweep_is_retried(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    for shop in open_shop(sqlite_url):
        _reserve_many(shop.db, 5, clock())

    async def scenario() -> tuple[int, int]:
        db = open_database(sqlite_url)
        woken: list[int] = []
        timer = ExpiryTimer(db, lambda: woken.append(1), clock, interval_s=TICK_S, batch=2)
        try:
            clock.advance(61)
            swept = await timer.sweep()
            return swept, len(woken)
        finally:
            db.close()

    assert run(scenario()) == (5, 3)  # batches of 2, 2 and 1, the feed woken after each

    for shop in open_shop(sqlite_url):
        _reserve_many(shop.db, 1, clock())
    real = expiry.expire_due
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("store_server.expiry_timer.expire_due", flaky)

    async def ticking() -> None:
        db = open_database(sqlite_url)
        expired = asyncio.Event()
        timer = ExpiryTimer(db, expired.set, clock, interval_s=TICK_S)
        clock.advance(61)
        timer.start()
        try:
            async with asyncio.timeout(5):
                await expired.wait()
        finally:
            await timer.stop()
            db.close()

    with caplog.at_level(logging.ERROR, logger="store_server.expiry_timer"):
        run(ticking())
    assert "reservation expiry sweep failed" in caplog.text
    assert len(calls) >= 2
