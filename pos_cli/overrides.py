"""``pos store unlock-cashier`` and ``pos store overrides``: a manager's overrides from the back office.

Unlocking goes through the running store server, because lockouts live in its memory
(``store_server.usecases.login_guard``): the command connects to ``/register`` with a register
credential and sends a ``cashier.unlock`` override that a manager authorises with their PIN,
typed at a prompt (or one line on standard input), never on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pos_cli.defaults import DEFAULT_SERVER_URL
from pos_core.errors import PosError

AddStoreLocation = Callable[[argparse.ArgumentParser], None]


def add_parsers(store_sub: Any, add_store_location: AddStoreLocation) -> None:
    """``unlock-cashier CASHIER --manager WHO`` and ``overrides`` under ``pos store``."""
    unlock = store_sub.add_parser(
        "unlock-cashier", help="end a cashier's lockout on the running server; a manager authorises it with their PIN"
    )
    unlock.add_argument("cashier", metavar="CASHIER", help="the locked-out cashier's id or name")
    unlock.add_argument("--manager", required=True, metavar="WHO", help="the authorising manager's id or name")
    unlock.add_argument("--server", default=DEFAULT_SERVER_URL, metavar="URL", help="default: %(default)s")
    given = unlock.add_mutually_exclusive_group()
    given.add_argument("--token", help="a register credential; prefer --token-file or $POS_TOKEN")
    given.add_argument("--token-file", type=Path, metavar="PATH", help="a file holding a register credential")
    unlock.add_argument("--data-dir", type=Path, help="where to look for register.token when no token is given")
    listed = store_sub.add_parser("overrides", help="the override log: who asked, which manager, what, when")
    add_store_location(listed)
    listed.add_argument("--last", type=int, default=50, help="how many of the latest (default: %(default)s)")


def unlock_cashier(args: argparse.Namespace) -> int:
    from pos_cli.commands import read_token
    from pos_cli.defaults import endpoint_url
    from pos_core.protocol import REGISTER_PATH

    token = read_token(args.token, args.token_file, "register", args.data_dir)
    url = endpoint_url(args.server, REGISTER_PATH)
    pin = _manager_pin()
    cashier, manager, was_locked = asyncio.run(_unlock(url, token, args.cashier, args.manager, pin))
    if was_locked:
        print(f"Unlocked {cashier}, authorised by {manager}; they can log in again.")
    else:
        print(f"{cashier} was not locked out; the unlock, authorised by {manager}, is logged anyway.")
    return 0


async def _unlock(url: str, token: str, cashier: str, manager: str, pin: str) -> tuple[str, str, bool]:
    from pos_desktop.lane.client import RegisterClient

    client = RegisterClient(url, token)
    try:
        await client.connect()
        people = await client.cashiers()
        locked, authoriser = _find(people, cashier, "cashier"), _find(people, manager, "manager")
        done = await client.authorise_override(authoriser.id, pin, "cashier.unlock", locked.id)
        return locked.name, done.manager.name, bool(done.was_locked)
    finally:
        await client.close()


def _find(people: list[Any], wanted: str, what: str) -> Any:
    """The one active cashier whose id or name is ``wanted``.

    Raises:
        PosError: none, or several with that name.
    """
    found = [p for p in people if wanted in (p.id, p.name)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise PosError(f"The store has no active {what} with the id or name {wanted!r}; check `pos store overrides` "
                       "or the register's login screen for the names.")  # fmt: skip
    raise PosError(f"Several cashiers are called {wanted!r}; give the {what}'s id instead.")


def _manager_pin() -> str:
    # At a terminal a prompt that does not echo; from a script one line on standard input.
    pin = getpass.getpass("Manager's PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not pin:
        raise PosError("No manager's PIN was given; type it at the prompt or send it on standard input.")
    return pin


def overrides(args: argparse.Namespace) -> int:
    from pos_cli.commands import existing_store_url
    from store_server.db.engine import open_database
    from store_server.usecases.overrides import list_overrides
    from store_server.usecases.store import load_store

    if args.last < 1:
        raise PosError("--last must be at least 1.")
    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        with db.read() as session:
            load_store(session)
            found = list_overrides(session, args.last)
    finally:
        db.close()
    rows = [(o.created_at, o.action, o.subject, o.manager_name, o.requested_by or "-", o.register) for o in found]
    header = ("AT", "ACTION", "SUBJECT", "MANAGER", "REQUESTED BY", "REGISTER")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
