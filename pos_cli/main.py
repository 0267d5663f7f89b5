"""The ``pos`` command line: one entry point for the store server, the register and the tools.

Heavy libraries (Qt, SQLAlchemy, websockets) are imported by each command, not here, so
``pos --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pos_cli import bench, cashiers, devices, lanes, orders, overrides, products, stock
from pos_cli.defaults import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SERVER_URL, default_data_dir, default_demo_dir
from pos_cli.lane_options import add_device_options
from pos_core.protocol import STOREFRONT_SCOPES

EPILOG = f"""\
defaults:
  data dir     $POS_DATA_DIR, else {default_data_dir()}
  database     sqlite:///DATA_DIR/store.db (embedded SQLite); --db postgresql+psycopg://USER@HOST/DB for PostgreSQL
  port         {DEFAULT_PORT} on {DEFAULT_HOST} (all interfaces); mDNS on all interfaces unless --mdns-interface
  server URL   {DEFAULT_SERVER_URL} for `pos feed` and `pos sim lane`; `pos register` finds the store by mDNS
  printer      file:DATA_DIR/receipts/receipts.escpos (ESC/POS bytes); tcp:HOST:9100 for a network printer
"""


def _add_store_location(p: argparse.ArgumentParser, data_dir_default: Path | None = None) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=data_dir_default or default_data_dir(),
        help="where the store keeps its files (default: %(default)s)",
    )
    p.add_argument("--db", metavar="URL", help="a SQLAlchemy database URL instead of DATA_DIR/store.db")


def port_number(text: str) -> int:
    """A TCP port for ``--port``: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give a number from 0 (any free one) to 65535")
    return port


def _add_token_options(p: argparse.ArgumentParser, kind: str, token_help: str) -> None:
    given = p.add_mutually_exclusive_group()
    given.add_argument("--token", help=f"{token_help}; prefer --token-file or $POS_TOKEN")
    given.add_argument(
        "--token-file", type=Path, metavar="PATH", help=f"a file holding the {kind} credential (keep it mode 0600)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pos",
        description="Unified-commerce point of sale: store server, register, storefront feed and tools.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default) or ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    store = sub.add_parser("store", help="create, run and administer a store server")
    store_sub = store.add_subparsers(dest="store_command", required=True, metavar="STORE_COMMAND")
    init = store_sub.add_parser("init", help="create or upgrade the store database (Alembic upgrade head)")
    _add_store_location(init)
    init.add_argument("--demo", action="store_true", help="load the demo store (products, stock, two cashiers)")
    init.add_argument("--name", default="My Store", help="the store's name for a new, non-demo store")
    init.add_argument("--currency", metavar="CODE", help="a new store's currency, ISO 4217 (default: EUR)")

    serve = store_sub.add_parser("serve", help="run the store server (websockets; advertised by mDNS)")
    _add_store_location(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="port, 0 for any free one (default: %(default)s)"
    )
    serve.add_argument("--no-mdns", action="store_true", help="do not advertise the store by mDNS")
    serve.add_argument(
        "--mdns-interface", metavar="IP", help="advertise only on this local IPv4 address, e.g. 127.0.0.1"
    )
    serve.add_argument(
        "--expiry-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between sweeps of expired reservations, above 0 and at most 3600 (default: %(default)s)",
    )
    serve.add_argument(
        "--writer",
        choices=("process", "thread"),
        default="process",
        help="write the database from a process of its own, a core to itself (default), or from a "
        "thread of the server's process (one core for everything; an in-memory database always does)",
    )
    serve.add_argument(
        "--writer-cpu",
        default="auto",
        metavar="auto|off|N",
        help="give the writer process CPU N to itself and keep the server off it; auto (default): the "
        "highest CPU when the server may use two or more and the database is SQLite; off: run anywhere",
    )

    token = store_sub.add_parser("token", help="print a new register or storefront credential (stored hashed)")
    _add_store_location(token)
    token.add_argument("--kind", choices=("register", "storefront"), required=True)
    token.add_argument("--name", required=True, help="what the credential is for, e.g. 'Till 1' or 'web shop'")
    token.add_argument(
        "--scope",
        action="append",
        choices=STOREFRONT_SCOPES,
        metavar="SCOPE",
        help=f"what a storefront token may do, repeat for several: {', '.join(STOREFRONT_SCOPES)} (default: all)",
    )

    tokens = store_sub.add_parser("tokens", help="list credentials: id, kind, name, scopes, created, revoked")
    _add_store_location(tokens)

    revoke = store_sub.add_parser("revoke", help="revoke a credential; open connections with it close within 30 s")
    _add_store_location(revoke)
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--name", help="the one live credential with this name")
    which.add_argument("--id", dest="credential_id", metavar="ID", help="the credential with this id")

    new_epoch = store_sub.add_parser(
        "new-epoch", help="give the feed a new epoch after restoring a backup, so every storefront takes a snapshot"
    )
    _add_store_location(new_epoch)
    lanes.add_parsers(store_sub, _add_store_location)
    overrides.add_parsers(store_sub, _add_store_location)
    cashiers.add_parsers(store_sub, _add_store_location)

    reg = sub.add_parser("register", help="run the Qt register for cashiers")
    reg.add_argument("--server", metavar="URL", help="ws://HOST:PORT of the store server; omitted: find it by mDNS")
    _add_token_options(reg, "register", "the register's credential, visible in ps (default: DATA_DIR/register.token)")
    reg.add_argument("--mdns-interface", metavar="IP", help="browse for the store only on this local IPv4 address")
    reg.add_argument("--name", default="Till 1", help="this register's name on receipts (default: %(default)s)")
    add_device_options(
        reg, printer_help="file:, tcp:, serial:, usb: or cups: address, or none (default: lane.json, else a file)"
    )

    feed = sub.add_parser("feed", help="follow the store's change feed, as a storefront would")
    feed.add_argument("--server", default=DEFAULT_SERVER_URL, metavar="URL", help="default: %(default)s")
    _add_token_options(feed, "storefront", "a storefront credential, visible in ps")
    feed.add_argument("--since", type=int, default=0, help="last seq already processed (default: 0, everything)")
    feed.add_argument("--json", action="store_true", help="one JSON object per line per event")
    feed.add_argument("--count", type=int, help="stop after this many events (default: follow forever)")

    sim = sub.add_parser("sim", help="simulators")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="SIM_COMMAND")
    lane = sim_sub.add_parser("lane", help="a headless lane ringing up random cash sales")
    lane.add_argument("--server", default=DEFAULT_SERVER_URL, metavar="URL", help="default: %(default)s")
    _add_token_options(lane, "register", "a register credential, visible in ps")
    lane.add_argument("--sales", type=int, required=True, help="how many sales to ring up")
    lane.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    lane.add_argument("--pin", default="1234", help="PIN of the first cashier (default: the demo's)")
    lane.add_argument("--name", default="SIM-1", help="the lane's register name (default: %(default)s)")

    receipts = sub.add_parser("receipts", help="show receipts a file printer printed, as text")
    receipts.add_argument("--data-dir", type=Path, default=default_demo_dir(), help="default: %(default)s")
    receipts.add_argument("--file", type=Path, help="an ESC/POS byte file (default: the data dir's printer file)")
    receipts.add_argument("--last", type=int, default=1, help="how many of the latest receipts (default: 1)")

    demo = sub.add_parser("demo", help="the whole store on this machine: server, register and live feed")
    demo.add_argument("--data-dir", type=Path, default=default_demo_dir(), help="default: %(default)s")
    demo.add_argument("--headless", action="store_true", help="a simulated lane instead of the register window")
    demo.add_argument("--sales", type=int, default=3, help="sales the headless lane rings up (default: 3)")
    demo.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="default: %(default)s, or any free port")

    orders.add_parser(sub, _add_store_location)
    stock.add_parser(sub, _add_store_location)
    products.add_parser(sub, _add_store_location)
    devices.add_parser(sub)
    bench.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from pos_cli import commands

    try:
        return commands.dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except commands.ACTIONABLE_ERRORS as exc:
        print(f"pos: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
