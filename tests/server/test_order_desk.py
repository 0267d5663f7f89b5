"""The back office's view of online orders (``pos orders``): listing them, finding one by the
storefront's reference, and staff steps that write exactly what the storefront's would, on both
databases."""

from __future__ import annotations

import pytest

from pos_core.orders import OPEN
from store_server.errors import IllegalOrderTransition, UnknownOrder
from store_server.usecases.orders import (
    OrderStep,
    PlaceOrder,
    cancel_order,
    collect_pickup,
    find_order_id,
    list_orders,
    mark_ready,
    place_order,
    ship_order,
    start_picking,
)
from tests.server.inventory_support import WEB, Shop, lines, rid, shop

__all__ = ["shop"]

STAFF = "staff:ann"
OPEN_STATUSES = {s.value for s in OPEN}


def _place(shop: Shop, *items: tuple[str, int], channel: str = "pickup", reference: str | None = None) -> str:
    return shop.write(place_order, PlaceOrder(rid(), WEB, channel, lines(*items), reference=reference)).order_id


def test_the_list_shows_online_orders_by_state_oldest_first_and_never_till_sales(shop: Shop) -> None:
    shop.sell(("SKU-0001", 1))  # an in_store order: done when made, never on the back office's list
    first = _place(shop, ("SKU-0001", 2), reference="WEB-1")
    waiting = _place(shop, ("SKU-0002", 99), channel="ship_from_store", reference="WEB-2")  # short: placed
    done = _place(shop, ("SKU-0003", 1))
    for step in (start_picking, mark_ready, collect_pickup):
        shop.write(step, OrderStep(rid(), STAFF, done))

    listed = shop.read(list_orders, OPEN_STATUSES)
    assert [(o.order_id, o.status) for o in listed] == [(first, "reserved"), (waiting, "placed")]
    assert listed[1].short == {1: 94}
    assert [o.order_id for o in shop.read(list_orders, {"picked_up"})] == [done]
    assert len(shop.read(list_orders, {"completed", "placed", "reserved", "picked_up"})) == 3


def test_an_order_is_found_by_its_id_or_its_storefront_reference(shop: Shop) -> None:
    order = _place(shop, ("SKU-0001", 1), reference="WEB-1001")
    assert shop.read(find_order_id, order) == order
    assert shop.read(find_order_id, "WEB-1001") == order
    with pytest.raises(UnknownOrder, match="There is no order WEB-9; check the order id"):
        shop.read(find_order_id, "WEB-9")
    again = _place(shop, ("SKU-0001", 1), reference="WEB-1001")
    with pytest.raises(UnknownOrder, match="2 orders carry the reference WEB-1001; give the order id instead"):
        shop.read(find_order_id, "WEB-1001")
    assert shop.read(find_order_id, again) == again


def test_staff_steps_emit_the_order_events_and_movements_a_storefront_sees(shop: Shop) -> None:
    order = _place(shop, ("SKU-0001", 3), channel="ship_from_store")
    seq = shop.last_seq()
    for step in (start_picking, mark_ready, ship_order):
        shop.write(step, OrderStep(rid(), STAFF, order))
    kinds = [k for k, _ in shop.events(seq)]
    assert kinds == ["order.picking", "order.ready", "stock.changed", "reservation.committed", "order.shipped"]
    shipped = shop.movements("SKU-0001")[-1]
    assert (shipped.reason, shipped.actor, shipped.document_id) == ("commit", STAFF, order)


def test_a_refused_staff_step_writes_nothing(shop: Shop) -> None:
    order = _place(shop, ("SKU-0001", 1), channel="ship_from_store")
    before = shop.fingerprint()
    with pytest.raises(
        IllegalOrderTransition,
        match="reserved cannot be marked ready; it can now only be changed, start picking or be cancelled",
    ):
        shop.write(mark_ready, OrderStep(rid(), STAFF, order))
    with pytest.raises(IllegalOrderTransition, match="cannot be collected"):
        shop.write(collect_pickup, OrderStep(rid(), STAFF, order))
    with pytest.raises(UnknownOrder):
        shop.write(cancel_order, OrderStep(rid(), STAFF, "no-such-order"))
    assert shop.fingerprint() == before
