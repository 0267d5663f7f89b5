"""Who runs a back-office command that writes (``pos orders``, ``pos stock``, ``pos products``):
``--by`` names them in the ledger, ``--request-id`` makes a retry the same request."""

from __future__ import annotations

import argparse
import getpass
import uuid

MAX_ACTOR_LEN = 200


def add_staff_arguments(parser: argparse.ArgumentParser, *, request_id: bool = True) -> None:
    """``--by NAME`` and (unless the command makes its own ids) ``--request-id ID``."""
    parser.add_argument("--by", metavar="NAME", help="who does it, for the ledger (default: your login name)")
    if not request_id:
        return
    parser.add_argument(
        "--request-id",
        metavar="ID",
        help="a UUID you made, so that running the same command again is not done twice (default: a new one)",
    )


def staff_actor(args: argparse.Namespace) -> str:
    """``staff:NAME``, as the ledger records who did it."""
    return f"staff:{args.by or getpass.getuser()}"[:MAX_ACTOR_LEN]


def staff_request_id(args: argparse.Namespace) -> str:
    """The ``--request-id`` given, else a new one.

    Raises:
        BadRequest: it was given empty (a script's unset variable): a retry would not be one.
    """
    from store_server.errors import BadRequest

    if args.request_id is None:
        return str(uuid.uuid4())
    if not args.request_id.strip():
        raise BadRequest("--request-id is empty; give the id you made, or leave it out for a new one.")
    return str(args.request_id)
