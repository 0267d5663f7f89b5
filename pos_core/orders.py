"""Orders of every channel in one model, and the steps an online order may take (docs/inventory.md).

An in-store sale is an order born ``completed``. An online order (ship from store, or pick up
in store) is ``placed``; it is ``reserved`` once every line is held; then ``picking``,
``ready``, and finally ``picked_up`` (pickup) or ``shipped`` (ship from store). Until the
goods leave it can be ``cancelled``, which releases what it held.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pos_core.errors import IllegalTransition


class Channel(StrEnum):
    IN_STORE = "in_store"
    SHIP_FROM_STORE = "ship_from_store"
    PICKUP = "pickup"


ONLINE = frozenset({Channel.SHIP_FROM_STORE, Channel.PICKUP})


class OrderStatus(StrEnum):
    PLACED = "placed"
    """Accepted; some lines are not (fully) held yet."""
    RESERVED = "reserved"
    """Every line is held."""
    PICKING = "picking"
    READY = "ready"
    PICKED_UP = "picked_up"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    """An in-store sale: paid and carried out at the till."""


class OrderAction(StrEnum):
    UPDATE = "update"
    START_PICKING = "start_picking"
    MARK_READY = "mark_ready"
    COLLECT = "collect"
    SHIP = "ship"
    CANCEL = "cancel"


_ANY_ONLINE = ONLINE
_STEPS: Mapping[tuple[OrderStatus, OrderAction], tuple[OrderStatus, frozenset[Channel]]] = {
    (OrderStatus.PLACED, OrderAction.UPDATE): (OrderStatus.PLACED, _ANY_ONLINE),
    (OrderStatus.RESERVED, OrderAction.UPDATE): (OrderStatus.RESERVED, _ANY_ONLINE),
    (OrderStatus.RESERVED, OrderAction.START_PICKING): (OrderStatus.PICKING, _ANY_ONLINE),
    (OrderStatus.PICKING, OrderAction.MARK_READY): (OrderStatus.READY, _ANY_ONLINE),
    (OrderStatus.READY, OrderAction.COLLECT): (OrderStatus.PICKED_UP, frozenset({Channel.PICKUP})),
    (OrderStatus.READY, OrderAction.SHIP): (OrderStatus.SHIPPED, frozenset({Channel.SHIP_FROM_STORE})),
    (OrderStatus.PLACED, OrderAction.CANCEL): (OrderStatus.CANCELLED, _ANY_ONLINE),
    (OrderStatus.RESERVED, OrderAction.CANCEL): (OrderStatus.CANCELLED, _ANY_ONLINE),
    (OrderStatus.PICKING, OrderAction.CANCEL): (OrderStatus.CANCELLED, _ANY_ONLINE),
    (OrderStatus.READY, OrderAction.CANCEL): (OrderStatus.CANCELLED, _ANY_ONLINE),
}
"""(status, action) -> (next status, channels allowed). An update's real next status depends
on what could be held (``held_status``)."""

OPEN = frozenset({OrderStatus.PLACED, OrderStatus.RESERVED, OrderStatus.PICKING, OrderStatus.READY})
"""Statuses in which an order still holds (or waits for) stock."""


def allowed_actions(channel: Channel, status: OrderStatus) -> list[OrderAction]:
    """The steps an order of ``channel`` in ``status`` may take, in a stable order."""
    return [a for a in OrderAction if (s := _STEPS.get((status, a))) is not None and channel in s[1]]


def next_status(channel: Channel, status: OrderStatus, action: OrderAction) -> OrderStatus:
    """The status after ``action``.

    Raises:
        IllegalTransition: the step is not allowed from ``status`` for this channel; the
            message says what is allowed instead.
    """
    step = _STEPS.get((status, action))
    if step is not None and channel in step[1]:
        return step[0]
    allowed = allowed_actions(channel, status)
    instead = f"it can now only {_words(allowed)}" if allowed else "it takes no more steps"
    raise IllegalTransition(f"A {channel.value} order that is {status.value} cannot {_verb(action)}; {instead}.")


def held_status(fully_held: bool) -> OrderStatus:
    """An order's status after placing or updating it: reserved when every line is held."""
    return OrderStatus.RESERVED if fully_held else OrderStatus.PLACED


_VERBS: Mapping[OrderAction, str] = {
    OrderAction.UPDATE: "be changed",
    OrderAction.START_PICKING: "start picking",
    OrderAction.MARK_READY: "be marked ready",
    OrderAction.COLLECT: "be collected",
    OrderAction.SHIP: "be shipped",
    OrderAction.CANCEL: "be cancelled",
}


def _verb(action: OrderAction) -> str:
    return _VERBS[action]


def _words(actions: list[OrderAction]) -> str:
    verbs = [_verb(a) for a in actions]
    return verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " or " + verbs[-1]
