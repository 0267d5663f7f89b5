"""PIN guessing is limited: a growing delay, a lockout per cashier, a closed connection; PINs
are checked off the database threads, so sales never wait behind a guess."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from store_server import register_endpoint
from store_server.usecases.cashiers import pin_matches
from store_server.usecases.login_guard import (
    CONNECTION_FAILURES,
    LOCKOUT_AFTER,
    LOCKOUT_S,
    MAX_DELAY_S,
    LoginGuard,
    backoff,
    guard_for,
)
from tests.server.support import PIN, cashier_ids, make_sale, register, run, running_server

WRONG = "9999"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_grows_after_three_wrong_pins_and_is_capped() -> None:
    assert [backoff(n) for n in range(9)] == [0, 0, 0, 1, 2, 4, 8, 16, MAX_DELAY_S]
    assert backoff(50) == MAX_DELAY_S


def test_a_cashier_is_locked_out_after_ten_wrong_pins_for_fifteen_minutes() -> None:
    clock = FakeClock()
    guard = LoginGuard(clock=clock)
    assert [guard.failed("alex", "peer") for _ in range(LOCKOUT_AFTER)] == [False] * (LOCKOUT_AFTER - 1) + [True]
    assert guard.locked("alex")
    assert not guard.locked("sam")
    clock.now += LOCKOUT_S - 1
    assert guard.locked("alex")
    clock.now += 1
    assert not guard.locked("alex")
    assert guard.delay("alex") == 0  # the count starts again


def test_a_right_pin_resets_the_count_and_the_connection_count_counts_too() -> None:
    guard = LoginGuard(clock=FakeClock())
    for _ in range(4):
        guard.failed("alex", "peer")
    assert guard.delay("alex") == 2
    guard.succeeded("alex")
    assert guard.delay("alex") == 0
    assert guard.delay("alex", connection_failures=4) == 2  # one connection guessing several cashiers


def test_wrong_pins_over_the_wire_slow_down_close_the_connection_and_lock_out(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    waited: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waited.append(seconds)

    async def scenario() -> tuple[list[dict[str, Any]], bool, list[dict[str, Any]], dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens):
            guard_for(server.database).sleep = no_sleep
            alex = cashier_ids(sqlite_url)["Alex"]
            login = {"type": "cashier.login", "cashier_id": alex}
            async with register(server, tokens.register) as reg:
                first = [await reg.request({**login, "pin": WRONG}) for _ in range(CONNECTION_FAILURES)]
                try:
                    await reg.request({"type": "cashiers.list"})
                    closed = False
                except ConnectionClosed:
                    closed = reg.ws.close_code == 1008
            async with register(server, tokens.register) as reg:
                more = [await reg.request({**login, "pin": WRONG}) for _ in range(LOCKOUT_AFTER - CONNECTION_FAILURES)]
            async with register(server, tokens.register) as reg:
                right = await reg.request({**login, "pin": PIN})  # too late: locked
            return first, closed, more, right

    with caplog.at_level(logging.INFO):
        first, closed, more, right = run(scenario())
    assert [r["code"] for r in first] == ["wrong_pin"] * CONNECTION_FAILURES
    assert closed
    assert [r["code"] for r in more] == ["wrong_pin"] * (LOCKOUT_AFTER - CONNECTION_FAILURES - 1) + ["cashier_locked"]
    assert (right["type"], right["code"]) == ("error", "cashier_locked")
    assert right["message"].startswith("Too many wrong PINs for Alex; a manager must unlock them")
    assert waited == [1, 2, 4, 8, 16, MAX_DELAY_S, MAX_DELAY_S]  # attempts 4 to 10
    failures = [r for r in caplog.records if r.getMessage().startswith("wrong PIN cashier=")]
    assert len(failures) == LOCKOUT_AFTER
    assert "peer=" in failures[0].getMessage()
    assert "cashier=" in failures[0].getMessage()
    assert not any(WRONG in r.getMessage() or PIN in r.getMessage() for r in caplog.records)


def test_a_pin_check_does_not_hold_up_sales(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def slow_pin_matches(pin: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        if pin == WRONG:
            started.set()
            release.wait(30)
        return pin_matches(pin, stored)

    monkeypatch.setattr(register_endpoint, "pin_matches", slow_pin_matches)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with (
            running_server(sqlite_url) as (server, tokens),
            register(server, tokens.register) as selling,
            register(server, tokens.register) as guessing,
        ):
            cashier = await selling.login()
            sam = cashier_ids(sqlite_url)["Sam"]
            guess = asyncio.create_task(guessing.request({"type": "cashier.login", "cashier_id": sam, "pin": WRONG}))
            await asyncio.to_thread(started.wait, 30)
            try:
                sold = await asyncio.wait_for(selling.submit(make_sale([("SKU-0001", 1)], cashier_id=cashier)), 10)
            finally:
                release.set()
            return sold, await guess

    sold, guessed = run(scenario())
    assert sold["type"] == "sale.accepted"
    assert guessed["code"] == "wrong_pin"
    assert threads
    assert not any(name.startswith("store-db") for name in threads)
