"""Many clients race for the last units of one product: exactly what is available is granted.

Each client has its own ``Database`` (its own connections) on the same store, so on SQLite
the writers really contend for ``BEGIN IMMEDIATE`` and on PostgreSQL for the row locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from store_server.db.engine import open_database
from store_server.db.models import ReservationLine
from store_server.errors import InsufficientStock
from store_server.usecases.orders import PlaceOrder, place_order
from store_server.usecases.reservations import Reserve, reserve
from store_server.usecases.stock import Move, grant_movement, ledger_level
from tests.server.inventory_support import DATABASES, WEB, lines, open_shop, rid, shop_url

CLIENTS = 12


def _race(url: str, attempt: Callable[[Any], int]) -> list[int]:
    """Run ``attempt(session)`` once per client, all released at the same moment."""
    start = threading.Barrier(CLIENTS)
    granted: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        db = open_database(url)
        try:
            start.wait()
            with db.write() as session:
                got = attempt(session)
            with lock:
                granted.append(got)
        except InsufficientStock:
            with lock:
                granted.append(0)
        except BaseException as exc:  # a failure in a thread must fail the test
            failures.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert len(granted) == CLIENTS
    return granted


@pytest.mark.parametrize("kind", DATABASES)
def test_racing_reservations_get_exactly_the_last_units(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)
    for shop in open_shop(url):
        granted = _race(
            url, lambda s: sum(ln.quantity for ln in reserve(s, Reserve(rid(), WEB, lines(("SKU-0002", 1)), 600)).lines)
        )
        assert sorted(granted) == [0] * (CLIENTS - 5) + [1] * 5  # butter: 5 on hand
        level = shop.level("SKU-0002")
        assert (level.on_hand, level.reserved, level.available) == (5, 5, 0)
        with shop.db.read() as s:
            assert ledger_level(s, "SKU-0002", "main") == level
            assert sum(s.scalars(select(ReservationLine.quantity).where(ReservationLine.sku == "SKU-0002"))) == 5


@pytest.mark.parametrize("kind", DATABASES)
def test_racing_orders_hold_no_more_than_there_is(request: pytest.FixtureRequest, kind: str) -> None:
    url = shop_url(request, kind)
    for shop in open_shop(url):

        def order(session: Any) -> int:
            placed = place_order(session, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0003", 1), ("SKU-0003", 1))))
            return sum(ln.reserved for ln in placed.lines)

        granted = _race(url, order)
        assert sum(granted) == 3  # dish soap: 3 on hand, 24 wanted
        assert all(g in (0, 1, 2) for g in granted)
        level = shop.level("SKU-0003")
        assert (level.on_hand, level.reserved) == (3, 3)
        with shop.db.read() as s:
            assert ledger_level(s, "SKU-0003", "main") == level


@pytest.mark.parametrize("kind", DATABASES)
def test_the_conditional_update_alone_never_grants_too_much(request: pytest.FixtureRequest, kind: str) -> None:
    """Without the feed lock that normally serialises commands, the guarded UPDATE still holds:
    PostgreSQL re-checks its WHERE on the row as the previous writer committed it."""
    url = shop_url(request, kind)
    for shop in open_shop(url):

        def grab(session: Any) -> int:
            move = Move("SKU-0001", 3, "on_hand", "reserved", "reservation", "test", "race", rid())
            return 3 if grant_movement(session, move) is not None else 0

        granted = _race(url, grab)
        assert sum(granted) == 9  # oat milk: 10 on hand, in threes
        level = shop.level("SKU-0001")
        assert (level.on_hand, level.reserved) == (10, 9)
