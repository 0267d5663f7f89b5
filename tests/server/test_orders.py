"""Online orders in one model with store sales: holds, partial availability, the pickup and
shipping lifecycles, illegal steps, cancellation and expiry, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from pos_core.inventory import Level
from store_server.errors import BadRequest, IllegalOrderTransition, UnknownOrder
from store_server.usecases.clock import utc_now
from store_server.usecases.expiry import expire_due
from store_server.usecases.orders import (
    OrderResult,
    OrderStep,
    PlaceOrder,
    UpdateOrder,
    cancel_order,
    collect_pickup,
    get_order,
    mark_ready,
    place_order,
    ship_order,
    start_picking,
    update_order,
)
from tests.server.inventory_support import WEB, Shop, lines, rid, shop

__all__ = ["shop"]


def _step(shop: Shop, fn: Callable[[Session, OrderStep], OrderResult], order_id: str) -> str:
    return shop.write(fn, OrderStep(rid(), "manager:ann", order_id)).status


def test_placing_holds_what_it_can_and_says_exactly_what_is_short(shop: Shop) -> None:
    seq = shop.last_seq()
    order = shop.write(
        place_order,
        PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0002", 3), ("SKU-0003", 1), ("SKU-0002", 4)), customer_name="Kim"),
    )
    assert order.status == "placed"
    assert [(ln.sku, ln.quantity, ln.reserved) for ln in order.lines] == [
        ("SKU-0002", 3, 3),
        ("SKU-0003", 1, 1),
        ("SKU-0002", 4, 2),  # butter: 5 on hand for 7 wanted over two lines
    ]
    assert order.short == {3: 2}
    assert order.to_wire()["lines"][2]["short"] == 2
    assert shop.level("SKU-0002") == Level(5, 5, 0)
    kinds = [k for k, _ in shop.events(seq)]
    assert kinds == ["stock.changed", "stock.changed", "reservation.granted", "order.placed"]
    # Once the customer settles for what there is, every line is held.
    updated = shop.write(update_order, UpdateOrder(rid(), WEB, order.order_id, lines(("SKU-0002", 5), ("SKU-0003", 1))))
    assert updated.status == "reserved"
    assert updated.short == {}
    assert updated.reservation_id == order.reservation_id
    # Wanting less gives units back.
    fewer = shop.write(update_order, UpdateOrder(rid(), WEB, order.order_id, lines(("SKU-0002", 1))))
    assert fewer.status == "reserved"
    assert shop.level("SKU-0002") == Level(5, 1, 0)
    assert shop.level("SKU-0003") == Level(3, 0, 0)


def test_a_pickup_order_is_picked_made_ready_and_collected(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0001", 4))))
    assert order.status == "reserved"
    assert order.expires_at is not None
    assert _step(shop, start_picking, order.order_id) == "picking"
    assert shop.read(get_order, order.order_id).expires_at is None  # goods in a picker's hands do not expire
    assert _step(shop, mark_ready, order.order_id) == "ready"
    seq = shop.last_seq()
    assert _step(shop, collect_pickup, order.order_id) == "picked_up"
    assert shop.level("SKU-0001") == Level(6, 0, 0)
    commit = shop.movements("SKU-0001")[-1]
    assert (commit.reason, commit.from_bucket, commit.to_bucket, commit.document_id) == (
        "commit",
        "reserved",
        "customer",
        order.order_id,
    )
    assert [k for k, _ in shop.events(seq)] == ["stock.changed", "reservation.committed", "order.picked_up"]


def test_a_ship_from_store_order_ships_and_illegal_steps_are_refused(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "ship_from_store", lines(("SKU-0003", 2))))
    before = shop.fingerprint()
    with pytest.raises(
        IllegalOrderTransition,
        match=r"^Order \S+: a ship_from_store order that is reserved cannot be marked ready; it can now only",
    ):
        _step(shop, mark_ready, order.order_id)
    assert shop.fingerprint() == before
    _step(shop, start_picking, order.order_id)
    with pytest.raises(IllegalOrderTransition, match="picking cannot be changed"):
        shop.write(update_order, UpdateOrder(rid(), WEB, order.order_id, lines(("SKU-0003", 1))))
    _step(shop, mark_ready, order.order_id)
    with pytest.raises(IllegalOrderTransition, match="ship_from_store order that is ready cannot be collected"):
        _step(shop, collect_pickup, order.order_id)
    assert _step(shop, ship_order, order.order_id) == "shipped"
    assert shop.level("SKU-0003") == Level(1, 0, 0)
    with pytest.raises(IllegalOrderTransition, match="shipped cannot be cancelled; it takes no more steps"):
        _step(shop, cancel_order, order.order_id)
    with pytest.raises(UnknownOrder):
        _step(shop, cancel_order, rid())


def test_an_order_waiting_for_stock_cannot_be_picked_and_cancelling_releases(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0004", 2), ("SKU-0001", 1))))
    assert order.status == "placed"
    assert order.short == {1: 2}
    with pytest.raises(IllegalOrderTransition, match="placed cannot start picking"):
        _step(shop, start_picking, order.order_id)
    seq = shop.last_seq()
    assert _step(shop, cancel_order, order.order_id) == "cancelled"
    assert shop.level("SKU-0001") == Level(10, 0, 0)
    assert [k for k, _ in shop.events(seq)] == ["stock.changed", "reservation.released", "order.cancelled"]


def test_an_order_holding_nothing_has_no_reservation(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0004", 1))))
    assert order.reservation_id is None
    assert order.lines[0].reserved == 0


def test_an_order_hold_expires_and_the_order_waits_again(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0001", 3)), hold_s=3600))
    assert shop.write(expire_due, utc_now() + timedelta(minutes=59)) == []
    [expired] = shop.write(expire_due, utc_now() + timedelta(minutes=61))
    assert (expired.reservation_id, expired.status, expired.order_id) == (
        order.reservation_id,
        "expired",
        order.order_id,
    )
    assert shop.level("SKU-0001") == Level(10, 0, 0)
    after = shop.read(get_order, order.order_id)
    assert after.status == "placed"
    assert after.lines[0].reserved == 0
    assert after.reservation_id is None
    # The storefront may try again with the same lines.
    again = shop.write(update_order, UpdateOrder(rid(), WEB, order.order_id, lines(("SKU-0001", 3))))
    assert again.status == "reserved"
    assert again.reservation_id not in (None, order.reservation_id)


def test_an_in_store_sale_is_an_order_too(shop: Shop) -> None:
    accepted = shop.sell(("SKU-0001", 2), ("SKU-0003", 1))
    order = shop.read(get_order, accepted.sale_id)
    assert (order.channel, order.status) == ("in_store", "completed")
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("SKU-0001", 2), ("SKU-0003", 1)]
    with pytest.raises(IllegalOrderTransition, match="in_store order that is completed"):
        _step(shop, cancel_order, accepted.sale_id)


def test_placing_is_checked_and_repeats_return_the_first_result(shop: Shop) -> None:
    with pytest.raises(BadRequest, match="channel must be one of pickup, ship_from_store"):
        shop.write(place_order, PlaceOrder(rid(), WEB, "in_store", lines(("SKU-0001", 1))))
    command = PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0001", 12)))
    first = shop.write(place_order, command)
    before = shop.fingerprint()
    again = shop.write(place_order, command)
    assert again.duplicate
    assert again.to_wire() == first.to_wire()
    assert shop.fingerprint() == before
