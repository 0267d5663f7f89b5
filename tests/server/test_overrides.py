"""Manager authorisation (DESIGN.md §7): an override needs an active manager other than the person
it is for, their PIN is checked like a login (delay, lockout), and every authorised override is
logged; refusals change nothing."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from store_server.db.engine import open_database
from store_server.db.models import OverrideRow
from store_server.errors import NotAuthorised, UnknownCashier
from store_server.usecases.cashiers import MANAGER, CashierInfo, add_cashier
from store_server.usecases.login_guard import FREE_FAILURES, LOCKOUT_AFTER, guard_for
from store_server.usecases.overrides import SETTLE_PAID, SETTLE_UNPAID, UNLOCK, list_overrides, record_override
from tests.server.inventory_support import Shop, shop
from tests.server.support import PIN, Register, cashier_ids, register, run, running_server

__all__ = ["shop"]

MANAGER_PIN = "8642"
SAM_PIN = "1357"
WRONG = "9999"


def _add_manager(url: str, name: str = "Max") -> str:
    db = open_database(url)
    try:
        with db.write() as session:
            return add_cashier(session, name, MANAGER_PIN, role=MANAGER).id
    finally:
        db.close()


def _logged(url: str) -> list[OverrideRow]:
    db = open_database(url)
    try:
        with db.read() as s:
            rows = list(s.scalars(select(OverrideRow).order_by(OverrideRow.created_at)))
            s.expunge_all()
            return rows
    finally:
        db.close()


# -- the use case, on SQLite and PostgreSQL --------------------------------------------------------


def test_an_override_by_a_manager_is_logged_and_listed_newest_first(shop: Shop) -> None:
    max_ = shop.write(add_cashier, "Max", MANAGER_PIN, role=MANAGER)
    alex = CashierInfo("alex-id", "Alex")
    first = shop.write(record_override, SETTLE_PAID, "intent-1", max_, requested_by=alex.id, register="till")
    second = shop.write(record_override, SETTLE_UNPAID, "intent-2", max_, requested_by=alex.id, register="till")
    assert (first.action, first.subject, first.requested_by, first.manager_id, first.manager_name) == (
        SETTLE_PAID, "intent-1", "alex-id", max_.id, "Max",
    )  # fmt: skip
    listed = shop.read(list_overrides)
    assert [(o.id, o.action, o.manager_name) for o in listed] == [
        (second.id, SETTLE_UNPAID, "Max"),
        (first.id, SETTLE_PAID, "Max"),
    ]


@pytest.mark.parametrize("who", ["cashier", "same person", "inactive manager"])
def test_refused_overrides_log_nothing(shop: Shop, who: str) -> None:
    max_ = shop.write(add_cashier, "Max", MANAGER_PIN, role=MANAGER)
    sam = shop.write(add_cashier, "Sam B", SAM_PIN)
    before = shop.fingerprint()
    if who == "cashier":
        call: tuple[Any, ...] = (sam, "alex-id")
        sentence = "Sam B is not a manager, so cannot mark a card payment whose outcome is unknown as paid"
    elif who == "same person":
        call = (max_, max_.id)
        sentence = "A manager cannot authorise their own override"
    else:
        call = (CashierInfo("gone", "Gone", MANAGER), "alex-id")
        sentence = "Gone is not a manager"
    with pytest.raises(NotAuthorised, match=sentence):
        shop.write(record_override, SETTLE_PAID, "intent-1", call[0], requested_by=call[1], register="till")
    assert shop.fingerprint() == before


def test_a_manager_cannot_unlock_themself_or_someone_who_is_not_a_cashier(shop: Shop) -> None:
    max_ = shop.write(add_cashier, "Max", MANAGER_PIN, role=MANAGER)
    before = shop.fingerprint()
    with pytest.raises(NotAuthorised, match=r"A manager cannot unlock themself; ask another manager\."):
        shop.write(record_override, UNLOCK, max_.id, max_, requested_by=None, register="till")
    with pytest.raises(UnknownCashier, match="no active cashier with that id to unlock"):
        shop.write(record_override, UNLOCK, "nobody", max_, requested_by=None, register="till")
    assert shop.fingerprint() == before


# -- over the websocket -------------------------------------------------------------------------


async def _authorise(reg: Register, manager_id: str, pin: str, **fields: str) -> dict[str, Any]:
    message = {"type": "override.authorise", "action": SETTLE_PAID, "subject": "intent-1", "manager_id": manager_id,
               "pin": pin, **fields}  # fmt: skip
    return await reg.request(message)


def test_a_manager_authorises_a_cashiers_card_settlement(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(sqlite_url) as (server, tokens):
            manager = _add_manager(sqlite_url)
            async with register(server, tokens.register) as reg:
                await reg.login("Alex")
                return await _authorise(reg, manager, MANAGER_PIN)

    with caplog.at_level(logging.INFO):
        reply = run(scenario())
    ids = cashier_ids(sqlite_url)
    assert reply["type"] == "override.authorise", reply
    assert reply["manager"] == {"id": ids["Max"], "name": "Max"}
    assert (reply["action"], reply["subject"], reply["was_locked"]) == (SETTLE_PAID, "intent-1", None)
    (logged,) = _logged(sqlite_url)
    assert (logged.id, logged.action, logged.subject, logged.requested_by, logged.manager_id) == (
        reply["override_id"], SETTLE_PAID, "intent-1", ids["Alex"], ids["Max"],
    )  # fmt: skip
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+", logged.register), logged.register
    assert logged.created_at == reply["at"]
    assert not any(MANAGER_PIN in r.getMessage() for r in caplog.records)


def test_refusals_over_the_wire_log_nothing(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens):
            manager = _add_manager(sqlite_url)
            ids = cashier_ids(sqlite_url)
            async with register(server, tokens.register) as reg:
                not_logged_in = await _authorise(reg, manager, MANAGER_PIN)
                await reg.login("Alex")
                cashier = await _authorise(reg, ids["Sam"], SAM_PIN)
                wrong = await _authorise(reg, manager, WRONG)
                bad_action = await _authorise(reg, manager, MANAGER_PIN, action="sale.void")
                blank = await _authorise(reg, manager, MANAGER_PIN, subject="   ")
                newline = await _authorise(reg, manager, MANAGER_PIN, action=SETTLE_UNPAID, subject="intent-1\n")
            async with register(server, tokens.register) as reg:
                await reg.login("Max", MANAGER_PIN)
                # Refused before the PIN is looked at, so even a wrong one gets this answer and costs nothing.
                themself = await _authorise(reg, manager, WRONG)
            return [not_logged_in, cashier, wrong, bad_action, themself, blank, newline]

    not_logged_in, cashier, wrong, bad_action, themself, blank, newline = run(scenario())
    assert (not_logged_in["code"], not_logged_in["message"]) == (
        "not_logged_in", "Log a cashier in on this connection before asking a manager.",
    )  # fmt: skip
    assert (cashier["code"], cashier["message"]) == (
        "not_authorised",
        "Sam is not a manager, so cannot mark a card payment whose outcome is unknown as paid; ask a manager.",
    )
    assert (wrong["code"], wrong["message"]) == ("wrong_pin", "That PIN is wrong; try again.")
    assert bad_action["code"] == "bad_message"
    assert bad_action["message"] == "'action' must be one of card.settle_paid, card.settle_unpaid, cashier.unlock."
    for bad_subject in (blank, newline):
        assert (bad_subject["code"], bad_subject["message"]) == (
            "bad_message", "'subject' must be the card payment's id: 1 to 64 letters, digits or -._:.",
        )  # fmt: skip
    assert themself["code"] == "not_authorised"
    assert themself["message"].startswith("A manager cannot authorise their own override")
    assert _logged(sqlite_url) == []


def test_manager_pins_are_throttled_and_locked_out_like_logins(sqlite_url: str) -> None:
    waited: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waited.append(seconds)

    async def scenario() -> list[str]:
        async with running_server(sqlite_url) as (server, tokens):
            guard_for(server.database).sleep = no_sleep
            manager = _add_manager(sqlite_url)
            codes = []
            for _ in range(LOCKOUT_AFTER // 3 + 1):  # three wrong PINs per connection stay under its limit
                async with register(server, tokens.register) as reg:
                    await reg.login("Alex")
                    codes += [(await _authorise(reg, manager, WRONG))["code"] for _ in range(3)]
            async with register(server, tokens.register) as reg:
                await reg.login("Alex")
                codes.append((await _authorise(reg, manager, MANAGER_PIN))["code"])
            return codes

    codes = run(scenario())
    assert codes[: LOCKOUT_AFTER - 1] == ["wrong_pin"] * (LOCKOUT_AFTER - 1)
    assert codes[LOCKOUT_AFTER - 1 :] == ["cashier_locked"] * (len(codes) - LOCKOUT_AFTER + 1)  # the right PIN too
    assert waited[: LOCKOUT_AFTER - FREE_FAILURES] == [1, 2, 4, 8, 16, 30, 30]
    assert _logged(sqlite_url) == []


def test_a_manager_unlocks_a_locked_out_cashier_on_the_running_server(sqlite_url: str) -> None:
    async def no_sleep(seconds: float) -> None:
        pass

    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens):
            guard = guard_for(server.database)
            guard.sleep = no_sleep
            manager = _add_manager(sqlite_url)
            alex = cashier_ids(sqlite_url)["Alex"]
            for _ in range(LOCKOUT_AFTER):
                guard.failed(alex, "test")
            unlock = {"action": UNLOCK, "subject": alex}
            async with register(server, tokens.register) as reg:
                locked = await reg.request({"type": "cashier.login", "cashier_id": alex, "pin": PIN})
                unlocked = await _authorise(reg, manager, MANAGER_PIN, **unlock)
                again = await _authorise(reg, manager, MANAGER_PIN, **unlock)
                login = await reg.request({"type": "cashier.login", "cashier_id": alex, "pin": PIN})
                themself = await _authorise(reg, manager, MANAGER_PIN, action=UNLOCK, subject=manager)
            return [locked, unlocked, again, login, themself]

    locked, unlocked, again, login, themself = run(scenario())
    assert locked["code"] == "cashier_locked"
    assert (unlocked["type"], unlocked["was_locked"]) == ("override.authorise", True)
    assert again["was_locked"] is False  # still logged: a manager said so
    assert login["type"] == "cashier.login"
    assert themself["code"] == "not_authorised"
    ids = cashier_ids(sqlite_url)
    assert [(o.action, o.subject, o.requested_by, o.manager_id) for o in _logged(sqlite_url)] == [
        (UNLOCK, ids["Alex"], None, ids["Max"])
    ] * 2


def test_the_log_is_counted_once_per_override(sqlite_url: str) -> None:
    async def scenario() -> None:
        async with running_server(sqlite_url) as (server, tokens):
            manager = _add_manager(sqlite_url)
            async with register(server, tokens.register) as reg:
                await reg.login("Alex")
                for intent in ("a", "b", "c"):
                    await _authorise(reg, manager, MANAGER_PIN, subject=intent)

    run(scenario())
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(OverrideRow)) == 3
    finally:
        db.close()


def test_the_demo_store_has_one_manager_and_keeps_its_pins(sqlite_url: str) -> None:
    from store_server.db.models import Cashier
    from store_server.usecases.cashiers import pin_matches
    from store_server.usecases.store import init_store

    init_store(sqlite_url, demo=True)
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            cashiers = {c.name: (c.role, c.pin_hash) for c in s.scalars(select(Cashier))}
    finally:
        db.close()
    assert {name: role for name, (role, _) in cashiers.items()} == {"Alex Morgan": "cashier", "Sam Patel": MANAGER}
    assert pin_matches("1234", cashiers["Alex Morgan"][1])
    assert pin_matches("2468", cashiers["Sam Patel"][1])
