"""``pos orders``: the back office lists online orders and takes them through picking, ready and hand-over.

Each command opens the store database itself, as ``pos store token`` and ``pos store revoke``
do, and runs one use case (``store_server.usecases.orders``) in one write transaction: the
same use case, the same feed events and the same idempotency record as the storefront's
commands. docs/operations.md ("Online orders from the back office") says why this is safe
while the server runs. SQLAlchemy is imported by the commands, not here, so ``pos --help``
stays quick.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pos_cli.staff import add_staff_arguments, staff_actor, staff_request_id
from pos_core.orders import ONLINE, OPEN, Channel, OrderAction, OrderStatus, allowed_actions

if TYPE_CHECKING:
    from store_server.usecases.orders import OrderResult

AddStoreLocation = Callable[[argparse.ArgumentParser], None]

STEPS: dict[str, OrderAction] = {
    "pick": OrderAction.START_PICKING,
    "ready": OrderAction.MARK_READY,
    "collect": OrderAction.COLLECT,
    "ship": OrderAction.SHIP,
    "cancel": OrderAction.CANCEL,
}
"""``pos orders STEP`` -> the order step it takes."""
COMMAND_FOR = {action: command for command, action in STEPS.items()}
_STEP_HELP = {
    "pick": "start picking a reserved order (its hold stops expiring)",
    "ready": "mark a picked order ready for pickup or shipping",
    "collect": "hand a ready pickup order to its customer (the goods leave)",
    "ship": "ship a ready ship-from-store order (the goods leave)",
    "cancel": "cancel an order that has not left; its held stock goes back on sale",
}
ONLINE_STATUSES = tuple(s.value for s in OrderStatus if s is not OrderStatus.COMPLETED)
STATE_CHOICES = ("open", "all", *ONLINE_STATUSES)


def add_parser(sub: Any, add_store_location: AddStoreLocation) -> None:
    """Add ``pos orders ...`` to the ``pos`` subcommands."""
    orders = sub.add_parser("orders", help="list online orders and pick, ready, collect, ship or cancel them")
    orders_sub = orders.add_subparsers(dest="orders_command", required=True, metavar="ORDERS_COMMAND")
    listing = orders_sub.add_parser("list", help="online orders, oldest first")
    add_store_location(listing)
    listing.add_argument(
        "--state",
        default="open",
        choices=STATE_CHOICES,
        metavar="S",
        help=f"open (placed, reserved, picking or ready; the default), all, or one of {', '.join(ONLINE_STATUSES)}",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per order per line")
    show = orders_sub.add_parser("show", help="one order: its lines, what is held and what it can do next")
    add_store_location(show)
    show.add_argument("order", metavar="ID", help="the order id, or the storefront's order reference")
    show.add_argument("--json", action="store_true", help="the order as one JSON object")
    for command, text in _STEP_HELP.items():
        step = orders_sub.add_parser(command, help=text)
        add_store_location(step)
        step.add_argument("order", metavar="ID", help="the order id, or the storefront's order reference")
        add_staff_arguments(step)


def run(args: argparse.Namespace) -> int:
    """Run ``pos orders ...``.

    Raises:
        StoreError: the store is missing, the order unknown, or the step not allowed now
            (one sentence; nothing was written).
    """
    from pos_cli.commands import existing_store_url
    from store_server.db.engine import open_database

    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        if args.orders_command == "list":
            return _list(db, args)
        if args.orders_command == "show":
            return _show(db, args)
        return _step(db, args, STEPS[args.orders_command])
    finally:
        db.close()


def _list(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.orders import list_orders
    from store_server.usecases.store import load_store

    statuses = {"open": {s.value for s in OPEN}, "all": set(ONLINE_STATUSES)}.get(args.state, {args.state})
    with db.read() as session:
        load_store(session)  # refuses a database that was never initialised
        orders = list_orders(session, statuses)
    if args.json:
        for order in orders:
            print(json.dumps(order.to_wire(), ensure_ascii=False))
        return 0
    if not orders:
        print(f"No {'' if args.state == 'all' else args.state + ' '}online orders.")
        return 0
    header = ("ORDER", "REFERENCE", "CHANNEL", "STATUS", "CUSTOMER", "UNITS", "SHORT", "HELD UNTIL")
    rows = [
        (
            o.order_id,
            o.reference or "-",
            o.channel,
            o.status,
            o.customer_name or "-",
            str(sum(ln.quantity for ln in o.lines)),
            str(sum(o.short.values())),
            o.expires_at[:19].replace("T", " ") if o.expires_at else "-",
        )
        for o in orders
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _show(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.orders import find_order_id, get_order
    from store_server.usecases.store import load_store

    with db.read() as session:
        load_store(session)
        order = get_order(session, find_order_id(session, args.order))
    if args.json:
        print(json.dumps(order.to_wire(), ensure_ascii=False))
    else:
        print("\n".join(describe(order)))
    return 0


def _step(db: Any, args: argparse.Namespace, action: OrderAction) -> int:
    from store_server.usecases import orders as usecases
    from store_server.usecases.feed import feed_position
    from store_server.usecases.store import load_store

    run_step: dict[OrderAction, Callable[..., OrderResult]] = {
        OrderAction.START_PICKING: usecases.start_picking,
        OrderAction.MARK_READY: usecases.mark_ready,
        OrderAction.COLLECT: usecases.collect_pickup,
        OrderAction.SHIP: usecases.ship_order,
        OrderAction.CANCEL: usecases.cancel_order,
    }
    request = staff_request_id(args)
    actor = staff_actor(args)
    # One write transaction: BEGIN IMMEDIATE on SQLite, the feed's counter row locked on
    # PostgreSQL, so the server's writer and this command take turns and seqs stay in commit order.
    with db.write() as session:
        load_store(session)
        order_id = usecases.find_order_id(session, args.order, request)
        result = run_step[action](session, usecases.OrderStep(request, actor, order_id))
        _, seq = feed_position(session)
    shown = order_label(result)
    if result.duplicate:
        print(f"Order {shown} was already {result.status} by request {request}; nothing changed.")
    else:
        print(f"Order {shown} is now {result.status} (feed seq {seq}).")
    following = next_steps(result)
    if following:
        print(following)
    return 0


def order_label(order: OrderResult) -> str:
    """``<id>`` or ``<id> (<reference>)``."""
    return order.order_id + (f" ({order.reference})" if order.reference else "")


def next_steps(order: OrderResult) -> str:
    """What staff can do with the order now, as ``pos orders`` commands; empty when nothing."""
    if order.channel not in ONLINE:
        return ""
    actions = [a for a in allowed_actions(Channel(order.channel), OrderStatus(order.status)) if a in COMMAND_FOR]
    if not actions:
        return ""
    return "Next: " + " or ".join(f"`pos orders {COMMAND_FOR[a]} {order.order_id}`" for a in actions) + "."


def describe(order: OrderResult) -> list[str]:
    """An order as lines of text for a person at the back-office screen."""
    lines = [f"Order {order_label(order)}" + (f" for {order.customer_name}" if order.customer_name else "")]
    held = f"; held until {order.expires_at}" if order.expires_at else ""
    lines.append(f"  {order.channel}, {order.status}, at {order.location}{held}")
    if order.reservation_id:
        lines.append(f"  reservation {order.reservation_id}")
    short = order.short
    for ln in order.lines:
        missing = short.get(ln.line_no, 0)
        state = f"  (held {ln.reserved}" + (f", short {missing})" if missing else ")")
        lines.append(f"  line {ln.line_no}  {ln.sku}  x {ln.quantity}" + (state if order.status in OPEN else ""))
    following = next_steps(order)
    lines.append(f"  {following}" if following else "  No further steps.")
    return lines
