"""The steps an order may take, per channel, and the sentences for those it may not."""

from __future__ import annotations

import pytest

from pos_core.errors import IllegalTransition
from pos_core.orders import Channel, OrderAction, OrderStatus, allowed_actions, held_status, next_status

PICKUP, SHIP = Channel.PICKUP, Channel.SHIP_FROM_STORE


def test_pickup_order_happy_path() -> None:
    status = held_status(fully_held=True)
    for action, expected in [
        (OrderAction.START_PICKING, OrderStatus.PICKING),
        (OrderAction.MARK_READY, OrderStatus.READY),
        (OrderAction.COLLECT, OrderStatus.PICKED_UP),
    ]:
        status = next_status(PICKUP, status, action)
        assert status == expected


def test_ship_from_store_order_ships_but_is_not_collected() -> None:
    assert next_status(SHIP, OrderStatus.READY, OrderAction.SHIP) == OrderStatus.SHIPPED
    with pytest.raises(IllegalTransition, match="cannot be collected; it can now only be shipped or be cancelled"):
        next_status(SHIP, OrderStatus.READY, OrderAction.COLLECT)
    with pytest.raises(IllegalTransition, match="pickup order that is ready cannot be shipped"):
        next_status(PICKUP, OrderStatus.READY, OrderAction.SHIP)


def test_an_order_waiting_for_stock_cannot_be_picked() -> None:
    assert held_status(fully_held=False) == OrderStatus.PLACED
    with pytest.raises(
        IllegalTransition, match="placed cannot start picking; it can now only be changed or be cancelled"
    ):
        next_status(PICKUP, OrderStatus.PLACED, OrderAction.START_PICKING)


@pytest.mark.parametrize("done", [OrderStatus.PICKED_UP, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_finished_orders_take_no_more_steps(done: OrderStatus) -> None:
    for channel in (PICKUP, SHIP):
        assert allowed_actions(channel, done) == []
        with pytest.raises(IllegalTransition, match="takes no more steps"):
            next_status(channel, done, OrderAction.CANCEL)


def test_in_store_sales_are_born_completed_and_take_no_steps() -> None:
    for action in OrderAction:
        with pytest.raises(IllegalTransition):
            next_status(Channel.IN_STORE, OrderStatus.COMPLETED, action)


def test_orders_can_be_cancelled_until_the_goods_leave() -> None:
    for status in (OrderStatus.PLACED, OrderStatus.RESERVED, OrderStatus.PICKING, OrderStatus.READY):
        assert next_status(PICKUP, status, OrderAction.CANCEL) == OrderStatus.CANCELLED
    with pytest.raises(IllegalTransition, match="picking cannot be changed"):
        next_status(PICKUP, OrderStatus.PICKING, OrderAction.UPDATE)
