"""``pos stock``: the back office books goods in, counts the shelf, writes off, sends and
receives transfers and sets safety stock (``pos products``: ``pos_cli.products``).

Each command opens the store database itself, as ``pos orders`` does, and runs one use case
(``store_server.usecases``: ``stock_ops``, ``counts``, ``transfers``, ``safety``)
in one write transaction: the same movements, feed events (``stock.changed``,
``reservation.at_risk``) and idempotency record as any other caller.
docs/operations.md ("Online orders from the back office") says why this is safe while the
server runs. SQLAlchemy is imported by the commands, not here, so ``pos --help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from pos_cli.staff import add_staff_arguments, staff_actor, staff_request_id

AddStoreLocation = Callable[[argparse.ArgumentParser], None]

WRITE_OFF_REASONS = ("damage", "shrink")
LISTED_LEVELS = 20
"""Levels a command lists one by one; beyond that (a store-wide safety stock) it says how many."""
_WHOLE = re.compile(r"-?[0-9]+")


def stock_line(text: str) -> tuple[str, int]:
    """``SKU=QUANTITY`` as typed on the command line (grams for a product sold by weight).

    Raises:
        argparse.ArgumentTypeError: not of that form.
    """
    sku, sep, quantity = text.rpartition("=")
    if not sep or not sku.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not SKU=QUANTITY, e.g. SKU-0001=12")
    if not _WHOLE.fullmatch(quantity.strip()):  # int() would also take "1_000" and other scripts' digits
        raise argparse.ArgumentTypeError(f"{text!r}: the quantity must be a whole number, e.g. SKU-0001=12")
    return sku.strip(), int(quantity)


def add_parser(sub: Any, add_store_location: AddStoreLocation) -> None:
    """Add ``pos stock ...`` to the ``pos`` subcommands."""
    stock = sub.add_parser(
        "stock", help="show levels; receive, count, write off and transfer stock; set safety stock; add locations"
    )
    commands = stock.add_subparsers(dest="stock_command", required=True, metavar="STOCK_COMMAND")

    show = commands.add_parser("show", help="on hand, reserved, safety stock and available of SKUs at a location")
    add_store_location(show)
    show.add_argument("skus", nargs="+", metavar="SKU")
    show.add_argument("--location", default="main", help="store location (default: main)")
    show.add_argument("--json", action="store_true", help="one JSON object per SKU per line")

    def writing(
        name: str, text: str, *, lines: bool = True, location: bool = True, first: tuple[str, str] | None = None
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
        add_store_location(parser)
        if first is not None:
            parser.add_argument(first[0], metavar=first[0].upper() + "_ID", help=first[1])
        if lines:
            parser.add_argument(
                "lines", nargs="+", type=stock_line, metavar="SKU=QTY", help="units per SKU (grams if sold by weight)"
            )
        if location:
            parser.add_argument("--location", default="main", help="store location (default: main)")
        add_staff_arguments(parser)
        return parser

    receive = writing("receive", "book delivered goods in: on hand goes up")
    receive.add_argument("--po", metavar="NUMBER", help="the purchase order they were delivered against")
    count = writing("count", "a physical count: what is on the shelf, absolute (0 allowed)")
    count.add_argument(
        "--at", metavar="TIME", help="when it was counted, ISO 8601 with a zone (default: now); may lie in the past"
    )
    returned = writing("return", "goods a customer brought back go back on the shelf (the refund is not booked here)")
    returned.add_argument("--order", metavar="ID", help="the sale or order they came from")
    returned.add_argument("--at", metavar="TIME", help="when they came back, ISO 8601 with a zone (default: now)")
    write_off = writing("write-off", "take damaged or missing goods off the books")
    write_off.add_argument("--reason", choices=WRITE_OFF_REASONS, default="damage", help="default: damage")
    transfer = writing("transfer", "send goods to another location: they are in transit until received there")
    transfer.add_argument("--to", required=True, metavar="LOCATION", dest="to_location", help="where they go")
    writing(
        "arrive",
        "receive (part of) a transfer at its destination",
        location=False,
        first=("transfer", "the id `pos stock transfer` printed"),
    )
    safety = writing("safety", "set the safety stock of a SKU, a category, or the store", lines=False, location=False)
    target = safety.add_mutually_exclusive_group()
    target.add_argument("--sku", help="one product (default: the store's default)")
    target.add_argument("--category", help="every product of a category without a setting of its own")
    safety.add_argument("quantity", metavar="QTY|none", help="units kept back from sale; none removes the setting")

    exceptions = commands.add_parser(
        "exceptions", help="open inventory exceptions: reserved stock a sale, count or write-off left uncovered"
    )
    add_store_location(exceptions)
    exceptions.add_argument("--sku", help="only this SKU's")
    exceptions.add_argument("--location", help="only this location's")
    exceptions.add_argument("--json", action="store_true", help="one JSON object per exception per line")
    resolve = writing(
        "resolve",
        "mark an inventory exception dealt with (say how in --note)",
        lines=False,
        location=False,
        first=("exception", "the id `pos stock exceptions` lists"),
    )
    resolve.add_argument("--note", default="", help="what was done, e.g. 'customer called, order cancelled'")

    locations = commands.add_parser("locations", help="the store's locations")
    add_store_location(locations)
    add = commands.add_parser("add-location", help="add a location (a back room, another store) for transfers")
    add_store_location(add)
    add.add_argument("code", help="short code, e.g. backroom")
    add.add_argument("name", help="its name, e.g. 'Back room'")


def run(args: argparse.Namespace) -> int:
    """Run ``pos stock ...``.

    Raises:
        StoreError: the store is missing, or the use case refused (one sentence; nothing was written).
    """
    return run_on_store(args, _COMMANDS[args.stock_command])


def run_on_store(args: argparse.Namespace, command: Callable[[Any, argparse.Namespace], int]) -> int:
    """Open the store database of ``--data-dir`` and ``--db`` and run ``command(db, args)`` on it.

    Raises:
        StoreError: the store is missing, or ``command`` was refused.
    """
    from pos_cli.commands import existing_store_url
    from store_server.db.engine import open_database

    if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
        logging.getLogger("store_server").setLevel(logging.ERROR)  # what they warn of, the command prints
    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        return command(db, args)
    finally:
        db.close()


def _lines(args: argparse.Namespace) -> tuple[Any, ...]:
    from pos_core.inventory import StockLine

    return tuple(StockLine(sku, quantity) for sku, quantity in args.lines)


def write_command(db: Any, use_case: Callable[..., Any], *command: Any) -> tuple[Any, int | None]:
    """Run ``use_case`` in one write transaction; its result, and the feed's last seq after it
    if it wrote an event (None if it changed nothing)."""
    from store_server.usecases.feed import feed_position, lock_feed
    from store_server.usecases.store import load_store

    # BEGIN IMMEDIATE on SQLite, the feed's counter row locked on PostgreSQL: the server's
    # writer and this command take turns, and seqs stay in commit order. The counter is locked
    # before it is read, so "before" is as this command finds it: read unlocked, another
    # writer's events committed meanwhile would be taken for this command's.
    with db.write() as session:
        load_store(session)  # refuses a database that was never initialised
        before = lock_feed(session).last_seq
        result = use_case(session, *command)
        _, seq = feed_position(session)
    return result, (seq if seq != before else None)


def _grams(db: Any, skus: Sequence[str]) -> set[str]:
    """Which of ``skus`` the store sells by weight (their quantities are grams)."""
    from sqlalchemy import select

    from store_server.db.models import ProductRow

    with db.read() as session:
        rows = session.scalars(
            select(ProductRow.sku).where(ProductRow.sku.in_(set(skus)), ProductRow.sold_by == "weight")
        )
        return set(rows)


def _show(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases import checks
    from store_server.usecases.stock import availability
    from store_server.usecases.store import load_store

    with db.read() as session:
        load_store(session)
        checks.known_location(session, args.location)
        checks.known_skus(session, args.skus)
        levels = availability(session, args.skus, args.location)
    if args.json:
        for level in levels:
            print(json.dumps(level, ensure_ascii=False))
    else:
        grams = _grams(db, args.skus)
        print("\n".join(level_text(level, level["sku"] in grams) for level in levels))
    return 0


def level_text(level: dict[str, Any], grams: bool = False) -> str:
    """One level as a line for a person: ``SKU-0001 at main: on hand 22, reserved 2, ...``."""
    unit = " g" if grams else ""
    text = (
        f"{level['sku']} at {level['location']}: on hand {level['on_hand']}{unit}, reserved {level['reserved']}{unit}, "
        f"safety stock {level['safety_stock']}{unit}, available {level['available']}{unit}"
    )
    if level["on_hand"] < 0:
        text += "; on hand below zero: count the shelf"
    return text


def _done(db: Any, said: str, result: Any, seq: int | None, request_id: str) -> None:
    if result.duplicate:
        print(f"Request {request_id} was already done; nothing changed this time. As it left them:")
    elif seq is None:
        print(f"{said}: nothing to change.")
    else:
        print(f"{said} (feed seq {seq}).")
    levels = result.levels
    grams = _grams(db, [level["sku"] for level in levels[:LISTED_LEVELS]])
    for level in levels[:LISTED_LEVELS]:
        print("  " + level_text(level, level["sku"] in grams))
    if len(levels) > LISTED_LEVELS:
        print(f"  and {len(levels) - LISTED_LEVELS} more levels; `pos stock show SKU` shows one.")
    for exception in getattr(result, "exceptions", ()):
        print(f"  Reserved stock is no longer covered: inventory exception {exception} is open for a manager.")


def _receive(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.stock_ops import Receive, receive

    request_id = staff_request_id(args)
    command = Receive(request_id, staff_actor(args), _lines(args), args.location, args.po)
    result, seq = write_command(db, receive, command)
    against = f" against purchase order {args.po}" if args.po else ""
    _done(db, f"Received {_units(db, args)} at {args.location}{against}", result, seq, request_id)
    return 0


def _count(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.counts import Count, record_count

    request_id = staff_request_id(args)
    command = Count(request_id, staff_actor(args), args.at, _lines(args), args.location)
    result, seq = write_command(db, record_count, command)
    _done(db, f"Count {result.count_id} at {args.location}, as of {result.counted_at}", result, seq, request_id)
    for line in result.lines:
        if line.status != "applied":
            print(
                f"  {line.sku}: counted {line.counted}; a count as late or later was applied already: "
                "this one changes nothing"
            )
        elif line.delta:
            found = f"{line.delta} more" if line.delta > 0 else f"{-line.delta} fewer"
            print(f"  {line.sku}: counted {line.counted}, the books said {line.expected}: {found} than booked")
        else:
            print(f"  {line.sku}: counted {line.counted}, as the books said")
    return 0


def _return(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.stock_ops import ReturnToStock, return_to_stock

    request_id = staff_request_id(args)
    command = ReturnToStock(request_id, staff_actor(args), _lines(args), args.location, args.order, args.at)
    result, seq = write_command(db, return_to_stock, command)
    of = f" from {args.order}" if args.order else ""
    _done(db, f"Returned {_units(db, args)}{of} to the shelf at {args.location}", result, seq, request_id)
    return 0


def _write_off(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.stock_ops import WriteOff, write_off

    request_id = staff_request_id(args)
    command = WriteOff(request_id, staff_actor(args), _lines(args), args.reason, args.location)
    result, seq = write_command(db, write_off, command)
    _done(db, f"Wrote off {_units(db, args)} at {args.location} as {args.reason}", result, seq, request_id)
    return 0


def _transfer(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.transfers import TransferOut, transfer_out

    request_id = staff_request_id(args)
    command = TransferOut(request_id, staff_actor(args), args.location, args.to_location, _lines(args))
    result, seq = write_command(db, transfer_out, command)
    _done(db, f"Sent {_units(db, args)} from {args.location} to {args.to_location}", result, seq, request_id)
    print(f"Transfer {result.transfer_id}: when it arrives, `pos stock arrive {result.transfer_id} SKU=QTY ...`.")
    return 0


def _arrive(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.transfers import TransferIn, transfer_in

    request_id = staff_request_id(args)
    result, seq = write_command(db, transfer_in, TransferIn(request_id, staff_actor(args), args.transfer, _lines(args)))
    said = f"Received {_units(db, args)} of transfer {result.transfer_id} at {result.to_location}"
    _done(db, said, result, seq, request_id)
    outstanding = [f"{ln['sent'] - ln['received']} x {ln['sku']}" for ln in result.lines if ln["received"] < ln["sent"]]
    if outstanding:
        print(f"  Still to arrive: {', '.join(outstanding)}.")
    else:
        print("  Everything sent has arrived: the transfer is received.")
    return 0


def _safety(db: Any, args: argparse.Namespace) -> int:
    from store_server.errors import BadRequest
    from store_server.usecases.safety import SetSafetyStock, set_safety_stock

    if args.quantity == "none":
        quantity = None
    elif _WHOLE.fullmatch(args.quantity.strip()):
        quantity = int(args.quantity)
    else:
        raise BadRequest(f"{args.quantity!r} is not a number of units; give one, or none.")
    request_id = staff_request_id(args)
    command = SetSafetyStock(request_id, staff_actor(args), quantity, args.sku, args.category)
    result, seq = write_command(db, set_safety_stock, command)
    whose = f"of {args.sku}" if args.sku else f"of category {args.category}" if args.category else "of the store"
    if quantity is not None:
        now = f"is now {quantity}"
    else:
        now = "has no setting of its own now: " + (
            "its category's or the store's applies" if args.sku else "the store's applies"
        )
    _done(db, f"Safety stock {whose} {now}", result, seq, request_id)
    return 0


def _exceptions(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases import checks
    from store_server.usecases.stock import availability
    from store_server.usecases.stock_exceptions import open_exceptions
    from store_server.usecases.store import load_store

    with db.read() as session:
        load_store(session)
        if args.sku is not None:
            checks.known_skus(session, [args.sku])
        if args.location is not None:
            checks.known_location(session, args.location)
        found = open_exceptions(session, args.sku, args.location)
        now = {
            (level["sku"], location): level
            for location in {e["location"] for e in found}
            for level in availability(session, {e["sku"] for e in found if e["location"] == location}, location)
        }
    if args.json:
        for exception in found:
            print(json.dumps(exception, ensure_ascii=False))
        return 0
    if not found:
        print("No open inventory exceptions.")
        return 0
    for exception in found:
        held = ", ".join(
            f"{r['reservation_id']} ({r['quantity']})" + (f" for order {r['order_id']}" if r.get("order_id") else "")
            for r in exception.get("reservations", [])
        )
        print(
            f"{exception['exception_id']}  {exception['sku']} at {exception['location']}: on hand "
            f"{exception['on_hand']}, reserved {exception['reserved']}, {exception['shortfall']} short; "
            f"after {exception['document_type']} {exception['document_id']}"
        )
        level = now[exception["sku"], exception["location"]]
        print(f"  now: on hand {level['on_hand']}, reserved {level['reserved']}, available {level['available']}")
        if held:
            print(f"  held by {held}")
    print("Deal with each (cancel or short an order, find the goods), then `pos stock resolve ID --note ...`.")
    return 0


def _resolve(db: Any, args: argparse.Namespace) -> int:
    from store_server.usecases.stock_exceptions import ResolveException, resolve_exception

    request_id = staff_request_id(args)
    command = ResolveException(request_id, staff_actor(args), args.exception, args.note)
    result, seq = write_command(db, resolve_exception, command)
    if result.duplicate:
        print(f"Request {request_id} was already done; nothing changed this time.")
    elif result.already:
        noted = f" with the note {result.note!r}" if result.note else ""
        print(
            f"Inventory exception {result.exception_id} was already resolved by {result.resolved_by}"
            f" at {result.resolved_at}{noted}; nothing changed."
        )
    else:
        print(f"Inventory exception {result.exception_id} is {result.status} (feed seq {seq}).")
    return 0


def _locations(db: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from store_server.db.models import Location
    from store_server.usecases.store import load_store

    with db.read() as session:
        load_store(session)
        for location in session.scalars(select(Location).order_by(Location.code)):
            print(f"{location.code}  {location.name}")
    return 0


def _add_location(db: Any, args: argparse.Namespace) -> int:
    from store_server.db.models import Location
    from store_server.errors import BadRequest
    from store_server.usecases.store import load_store
    from store_server.usecases.transfers import add_location

    with db.write() as session:
        load_store(session)
        existing = session.get(Location, args.code)
        if existing is None:
            add_location(session, args.code, args.name)
    if existing is None:
        print(f"Location {args.code} ({args.name}) added.")
    elif existing.name == args.name:
        print(f"Location {args.code} ({args.name}) is there already; nothing changed.")
    else:
        raise BadRequest(f"Location {args.code} is there already, named {existing.name!r}; pick another code.")
    return 0


def _units(db: Any, args: argparse.Namespace) -> str:
    lines: Sequence[tuple[str, int]] = args.lines
    grams = _grams(db, [sku for sku, _ in lines])
    return ", ".join(f"{quantity} g of {sku}" if sku in grams else f"{quantity} x {sku}" for sku, quantity in lines)


_COMMANDS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "show": _show,
    "receive": _receive,
    "count": _count,
    "return": _return,
    "write-off": _write_off,
    "transfer": _transfer,
    "arrive": _arrive,
    "safety": _safety,
    "exceptions": _exceptions,
    "resolve": _resolve,
    "locations": _locations,
    "add-location": _add_location,
}
