"""``pos store cashier add|role|deactivate`` and ``pos store cashiers``: the store's cashiers and managers.

Like ``pos store token``, each change opens the store database and runs its use case
(``store_server.usecases.cashiers``) in one write transaction, safe beside a running server
(docs/operations.md, "Cashiers and managers"). A new PIN is typed at a prompt that does not echo,
or sent by a script as one line on standard input; never on the command line, where ``ps`` shows it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from pos_core.errors import PosError

AddStoreLocation = Callable[[argparse.ArgumentParser], None]
ROLE_CHOICES = ("cashier", "manager")


def add_parsers(store_sub: Any, add_store_location: AddStoreLocation) -> None:
    """``cashier add|role|deactivate`` and ``cashiers`` under ``pos store``."""
    cashier = store_sub.add_parser("cashier", help="add a cashier, change a role, or deactivate a cashier")
    cashier_sub = cashier.add_subparsers(dest="cashier_command", required=True, metavar="CASHIER_COMMAND")
    add = cashier_sub.add_parser(
        "add", help="add a cashier; their PIN is asked at a prompt (or read as one line on standard input)"
    )
    add_store_location(add)
    add.add_argument("name", metavar="NAME", help="the name on the login screen, e.g. 'Alex Morgan'")
    add.add_argument(
        "--role", choices=ROLE_CHOICES, default="cashier", help="a manager authorises overrides (default: %(default)s)"
    )
    role = cashier_sub.add_parser("role", help="make a cashier a manager, or a manager a cashier")
    add_store_location(role)
    role.add_argument("who", metavar="ID_OR_NAME", help="the cashier's id or name")
    role.add_argument("role", metavar="ROLE", choices=ROLE_CHOICES, help="cashier or manager")
    deactivate = cashier_sub.add_parser("deactivate", help="stop a cashier logging in; their sales keep their name")
    add_store_location(deactivate)
    deactivate.add_argument("who", metavar="ID_OR_NAME", help="the cashier's id or name")
    listed = store_sub.add_parser("cashiers", help="list cashiers: id, name, role, active (never a PIN)")
    add_store_location(listed)


def cashier(args: argparse.Namespace) -> int:
    return {"add": add_cashier, "role": change_role, "deactivate": deactivate}[args.cashier_command](args)


def add_cashier(args: argparse.Namespace) -> int:
    from store_server.usecases.cashiers import NewPin
    from store_server.usecases.cashiers import add_cashier as add_to_store
    from store_server.usecases.store import load_store

    url = _store_url(args)  # a missing store is said before a PIN is asked for
    pin = NewPin.of(_new_pin(args.name))  # checked and hashed before the transaction: no lock held meanwhile
    db = _open(url)
    try:
        with db.write() as session:
            load_store(session)  # refuses a database that was never initialised
            added = add_to_store(session, args.name, pin, role=args.role)
    finally:
        db.close()
    print(f"Added {added.name} ({added.id}) as a {added.role}; they can log in at the register with their PIN.")
    return 0


def change_role(args: argparse.Namespace) -> int:
    from store_server.usecases.cashiers import set_role

    done = _write(args, set_role, args.who, args.role)
    who = f"{done.cashier.name} ({done.cashier.id})"
    inactive = "" if done.cashier.active else "; they are deactivated, so they cannot log in"
    if done.changed:
        print(f"{who} is now a {done.cashier.role}{inactive}.")
    else:
        print(f"{who} is already a {done.cashier.role}{inactive}; nothing changed.")
    return 0


def deactivate(args: argparse.Namespace) -> int:
    from store_server.usecases.cashiers import deactivate_cashier

    done = _write(args, deactivate_cashier, args.who)
    who = f"{done.cashier.name} ({done.cashier.id})"
    if done.changed:
        print(f"Deactivated {who}: they can no longer log in or authorise overrides; their sales keep their name.")
    else:
        print(f"{who} was already deactivated; nothing changed.")
    return 0


def cashiers(args: argparse.Namespace) -> int:
    from store_server.usecases.cashiers import list_all_cashiers
    from store_server.usecases.store import load_store

    db = _open(_store_url(args))
    try:
        with db.read() as session:
            load_store(session)
            rows = [(c.id, c.name, c.role, "yes" if c.active else "no") for c in list_all_cashiers(session)]
    finally:
        db.close()
    header = ("ID", "NAME", "ROLE", "ACTIVE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _write(args: argparse.Namespace, fn: Callable[..., Any], *fn_args: Any) -> Any:
    """``fn(session, *fn_args)`` in one write transaction on the store's database; nothing stays on a refusal."""
    from store_server.usecases.store import load_store

    db = _open(_store_url(args))
    try:
        with db.write() as session:
            load_store(session)
            return fn(session, *fn_args)
    finally:
        db.close()


def _open(url: str) -> Any:
    from store_server.db.engine import open_database

    return open_database(url)


def _store_url(args: argparse.Namespace) -> str:
    from pos_cli.commands import existing_store_url

    return existing_store_url(args.data_dir, args.db)


def _new_pin(name: str) -> str:
    """The new PIN: asked twice at a prompt that does not echo, else one line on standard input.

    Raises:
        PosError: no PIN, or the two typed differ.
    """
    if sys.stdin.isatty():
        pin = getpass.getpass(f"PIN for {name}: ")
        if pin and getpass.getpass("The same PIN again: ") != pin:
            raise PosError("The two PINs differ; nothing was added. Run the command again.")
    else:
        pin = sys.stdin.readline().strip()
    if not pin:
        raise PosError("No PIN was given; type it at the prompt or send it as one line on standard input.")
    return pin
