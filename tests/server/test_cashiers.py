"""Managing cashiers from the back office, on SQLite and PostgreSQL: adding one with a hashed PIN,
changing a role, deactivating; a store keeps its last active manager; refusals change nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from store_server.db.models import Cashier
from store_server.errors import RequestRefused, UnknownCashier
from store_server.usecases.cashiers import (
    CASHIER,
    MANAGER,
    CashierListing,
    NewPin,
    add_cashier,
    deactivate_cashier,
    list_all_cashiers,
    list_cashiers,
    login,
    set_role,
)
from tests.server.inventory_support import Shop, shop

__all__ = ["shop"]

PIN = "4826"


def listed(shop: Shop) -> dict[str, tuple[str, bool]]:
    return {c.name: (c.role, c.active) for c in shop.read(list_all_cashiers)}


def test_an_added_cashier_logs_in_with_their_pin_and_is_listed_without_it(shop: Shop) -> None:
    # The test store is like one upgraded to migration 0006: cashiers, no manager yet.
    assert listed(shop) == {"Alex": (CASHIER, True), "Sam": (CASHIER, True)}
    jo = shop.write(add_cashier, "  Jo   Lee ", NewPin.of(PIN), role=MANAGER)
    assert (jo.name, jo.role) == ("Jo Lee", MANAGER)
    assert listed(shop)["Jo Lee"] == (MANAGER, True)
    assert shop.read(login, jo.id, PIN).name == "Jo Lee"
    with shop.db.read() as s:
        stored = s.scalars(select(Cashier.pin_hash).where(Cashier.id == jo.id)).one()
    assert stored.startswith("scrypt$")
    assert PIN not in stored
    assert all(PIN not in repr(c) and "scrypt" not in repr(c) for c in shop.read(list_all_cashiers))
    assert set(CashierListing.__slots__) == {"id", "name", "role", "active"}


@pytest.mark.parametrize(
    ("name", "pin", "role", "sentence"),
    [
        ("alex", PIN, CASHIER, "There is already an active cashier called 'Alex'; give the new one a name"),
        ("Kim", "123", CASHIER, "A PIN must be 4 to 12 digits (0-9)."),
        ("Kim", "1234567890123", CASHIER, "A PIN must be 4 to 12 digits (0-9)."),
        ("Kim", "12a4", CASHIER, "A PIN must be 4 to 12 digits (0-9)."),
        ("Kim", "١٢٣٤", CASHIER, "A PIN must be 4 to 12 digits (0-9)."),  # digits, but not ones a PIN pad has
        ("  ", PIN, CASHIER, "A cashier needs a name."),
        ("Kim", PIN, "owner", "A cashier's role must be cashier or manager, not 'owner'."),
    ],
)
def test_refused_additions_say_why_and_add_nobody(shop: Shop, name: str, pin: str, role: str, sentence: str) -> None:
    before = shop.fingerprint()
    with pytest.raises(RequestRefused) as refused:
        shop.write(add_cashier, name, pin, role=role)
    assert str(refused.value).startswith(sentence)
    assert shop.fingerprint() == before


def test_a_new_pin_is_checked_before_it_is_hashed() -> None:
    with pytest.raises(RequestRefused, match=r"^A PIN must be 4 to 12 digits"):
        NewPin.of("12")


def test_roles_change_by_name_or_id_and_the_same_role_again_changes_nothing(shop: Shop) -> None:
    ids = {c.name: c.id for c in shop.read(list_cashiers)}
    made = shop.write(set_role, "alex", MANAGER)  # by name, in any case
    assert (made.cashier.name, made.cashier.role, made.changed) == ("Alex", MANAGER, True)
    again = shop.write(set_role, ids["Alex"], MANAGER)  # by id
    assert (again.cashier.role, again.changed) == (MANAGER, False)
    shop.write(set_role, "Sam", MANAGER)
    shop.write(set_role, "Alex", CASHIER)  # Sam is still a manager
    assert listed(shop) == {"Alex": (CASHIER, True), "Sam": (MANAGER, True)}


def test_the_last_active_manager_can_be_neither_demoted_nor_deactivated(shop: Shop) -> None:
    shop.write(set_role, "Sam", MANAGER)
    shop.write(add_cashier, "Max", PIN, role=MANAGER)
    shop.write(deactivate_cashier, "Max")  # a deactivated manager authorises nothing, so does not count
    before = shop.fingerprint()
    with pytest.raises(RequestRefused) as demoted:
        shop.write(set_role, "Sam", CASHIER)
    assert str(demoted.value) == (
        "Sam is the store's last active manager, so we cannot make them a cashier: nobody could authorise an "
        "override; make another cashier a manager first."
    )
    with pytest.raises(RequestRefused, match=r"^Sam is the store's last active manager, so we cannot deactivate"):
        shop.write(deactivate_cashier, "Sam")
    assert shop.fingerprint() == before
    assert listed(shop)["Sam"] == (MANAGER, True)


def test_a_deactivated_cashier_cannot_log_in_and_is_off_the_login_screen(shop: Shop) -> None:
    alex = next(c for c in shop.read(list_cashiers) if c.name == "Alex")
    done = shop.write(deactivate_cashier, "Alex")
    assert (done.cashier.active, done.changed) == (False, True)
    assert [c.name for c in shop.read(list_cashiers)] == ["Sam"]
    with pytest.raises(UnknownCashier):
        shop.read(login, alex.id, "1234")
    assert shop.write(deactivate_cashier, alex.id).changed is False
    # Their name is free again for someone new, and the name now means the active one.
    kim = shop.write(add_cashier, "Alex", PIN)
    assert shop.write(set_role, "Alex", MANAGER).cashier.id == kim.id


@pytest.mark.parametrize("who", ["Nobody", "no-such-id"])
def test_an_unknown_cashier_is_one_sentence_and_changes_nothing(shop: Shop, who: str) -> None:
    before = shop.fingerprint()
    with pytest.raises(UnknownCashier) as unknown:
        shop.write(set_role, who, MANAGER)
    assert str(unknown.value) == (
        f"The store has no cashier with the id or name {who!r}; `pos store cashiers` lists them."
    )
    with pytest.raises(UnknownCashier):
        shop.write(deactivate_cashier, who)
    assert shop.fingerprint() == before


def test_two_managers_demoted_at_once_leave_one(shop: Shop) -> None:
    """Two back-office commands at the same moment: the second waits for the first, then sees it."""
    shop.write(set_role, "Alex", MANAGER)
    shop.write(set_role, "Sam", MANAGER)
    first_done, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def demote_alex_and_hold() -> None:
        with shop.db.write() as session:
            set_role(session, "Alex", CASHIER)
            first_done.set()
            release.wait(10)

    def demote_sam() -> None:
        try:
            outcome["sam"] = shop.write(set_role, "Sam", CASHIER)
        except RequestRefused as exc:
            outcome["sam"] = exc

    first = threading.Thread(target=demote_alex_and_hold)
    first.start()
    assert first_done.wait(10)
    second = threading.Thread(target=demote_sam)
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second change waits for the first"
    release.set()
    first.join(10)
    second.join(10)
    assert isinstance(outcome["sam"], RequestRefused)
    assert listed(shop) == {"Alex": (CASHIER, True), "Sam": (MANAGER, True)}
