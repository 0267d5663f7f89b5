"""What each ``pos`` command does: thin glue from arguments to the packages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

from peripherals.errors import PeripheralError
from pos_cli import bench, cashiers, devices, lanes, orders, overrides, products, stock
from pos_cli.defaults import database_url, default_printer, endpoint_url
from pos_cli.lane_options import lane_settings
from pos_core.errors import PosError
from pos_core.protocol import FEED_PATH, REGISTER_PATH
from pos_desktop.lane.errors import LaneError
from store_server import heap
from store_server.errors import StoreError

ACTIONABLE_ERRORS: tuple[type[Exception], ...] = (PosError, StoreError, PeripheralError, LaneError)
"""Errors whose message is a sentence for a person: printed without a traceback."""


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "store":
        return {
            "init": store_init,
            "serve": store_serve,
            "token": store_token,
            "new-epoch": store_new_epoch,
            "tokens": store_tokens,
            "revoke": store_revoke,
            "lane": lanes.lane,
            "lanes": lanes.lanes,
            "unlock-cashier": overrides.unlock_cashier,
            "overrides": overrides.overrides,
            "cashier": cashiers.cashier,
            "cashiers": cashiers.cashiers,
        }[args.store_command](args)
    if args.command == "sim":
        return sim_lane(args)
    handlers = {
        "register": register,
        "feed": feed,
        "receipts": receipts,
        "demo": demo,
        "orders": orders.run,
        "stock": stock.run,
        "products": products.run,
        "devices": devices.run,
        "bench": bench.run,
    }
    return handlers[args.command](args)


def store_init(args: argparse.Namespace) -> int:
    from store_server.usecases.store import check_currency, demo_seed, init_store

    currency = None if args.currency is None else args.currency.strip().upper()
    check_currency(currency, demo_seed() if args.demo else None)  # before anything is made
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PosError(
            f"Cannot create the data dir {args.data_dir} ({exc.strerror or exc}); pass a --data-dir you can write to."
        ) from None
    info = init_store(database_url(args.data_dir, args.db), demo=args.demo, name=args.name, currency=currency)
    print(f"Store {info.name!r} ({info.id}) is ready in {args.db or args.data_dir}.")
    return 0


def existing_store_url(data_dir: Path, db: str | None) -> str:
    """The database URL of a store that must already exist.

    Raises:
        PosError: the embedded store file is not there.
    """
    if db is None and not (data_dir / "store.db").exists():
        raise PosError(f"There is no store in {data_dir}; create one with `pos store init --data-dir {data_dir}`.")
    url = database_url(data_dir, db)
    if db is not None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise PosError(
                f"{db!r} is not a database URL; give sqlite:///PATH or postgresql+psycopg://USER@HOST/DB."
            ) from None
        path = parsed.database
        if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not Path(path).exists():
            raise PosError(f"There is no store database at {path}; create one with `pos store init --db {db}`.")
    return url


def store_token(args: argparse.Namespace) -> int:
    from store_server.db.engine import open_database
    from store_server.usecases.credentials import issue_token
    from store_server.usecases.store import load_store

    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        with db.write() as session:
            load_store(session)  # refuses a database that was never initialised
            token = issue_token(session, args.kind, args.name, args.scope)
    finally:
        db.close()
    print(token)
    return 0


def position_file(data_dir: Path) -> Path:
    """Where the server keeps the feed's high-water mark: the data dir, for SQLite and PostgreSQL alike."""
    from store_server.feed_position import POSITION_FILE

    return data_dir / POSITION_FILE


def store_tokens(args: argparse.Namespace) -> int:
    from store_server.db.engine import open_database
    from store_server.usecases.credentials import list_credentials
    from store_server.usecases.store import load_store

    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        with db.read() as session:
            load_store(session)
            rows = [
                (c.id, c.kind, c.name, ",".join(c.scopes.split()) or "-", c.created_at, c.revoked_at or "-")
                for c in list_credentials(session)
            ]
    finally:
        db.close()
    header = ("ID", "KIND", "NAME", "SCOPES", "CREATED", "REVOKED")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def store_revoke(args: argparse.Namespace) -> int:
    from store_server.db.engine import open_database
    from store_server.server import CREDENTIAL_CHECK_S
    from store_server.usecases.credentials import revoke_named
    from store_server.usecases.store import load_store

    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        with db.write() as session:
            load_store(session)
            found = revoke_named(session, name=args.name, credential_id=args.credential_id)
            shown = f"{found.kind} credential {found.name!r} ({found.id})"
    finally:
        db.close()
    print(
        f"Revoked the {shown}; new connections with it are refused and open ones "
        f"close within {CREDENTIAL_CHECK_S:.0f} s."
    )
    return 0


def store_new_epoch(args: argparse.Namespace) -> int:
    from store_server.db.engine import open_database
    from store_server.usecases.feed import rotate_epoch
    from store_server.usecases.store import load_store

    db = open_database(existing_store_url(args.data_dir, args.db))
    try:
        with db.write() as session:
            load_store(session)  # refuses a database that was never initialised
            epoch = rotate_epoch(session)
    finally:
        db.close()
    print(f"The feed has a new epoch {epoch}; every storefront will take a snapshot when it next subscribes.")
    return 0


async def _until_interrupted() -> None:
    """Wait for Ctrl-C or SIGTERM, so a server shuts down cleanly instead of dying mid-write."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no loop signal handlers
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


MAX_EXPIRY_INTERVAL_S = 3600.0
"""Longer, and holds would outlive their TTL by more than an hour before their stock came back."""


def expiry_interval(seconds: float) -> float:
    """``--expiry-interval``, checked.

    Raises:
        PosError: not above 0, above an hour, or not a number.
    """
    if not 0 < seconds <= MAX_EXPIRY_INTERVAL_S:  # also refuses nan
        raise PosError(
            f"--expiry-interval must be above 0 and at most {MAX_EXPIRY_INTERVAL_S:.0f} seconds, not {seconds:g}; "
            "expired holds give their stock back only when a sweep runs."
        )
    return seconds


def writer_cpu(asked: str, *, writer_process: bool, sqlite: bool) -> int | None:
    """The writer process's own CPU from ``--writer-cpu`` (``store_server.db.cores``).

    ``auto`` pins only a SQLite store's writer: on PostgreSQL the writer mostly waits for the
    database server, which needs the CPUs more.

    Raises:
        StoreError: a CPU this server may not use, or a CPU asked for without a writer process.
    """
    from store_server.db.cores import chosen_writer_cpu, parsed_writer_cpu, usable_cpus

    parsed_writer_cpu(asked)  # a value that is none of auto, off or a number is the first thing to say
    if asked == "auto" and not (writer_process and sqlite):
        return None
    if not writer_process and asked != "off":
        raise StoreError(f"--writer-cpu {asked} needs --writer process; pass --writer-cpu off with --writer thread.")
    return chosen_writer_cpu(asked, usable_cpus())


def store_serve(args: argparse.Namespace) -> int:
    from store_server.mdns import StoreAdvertiser
    from store_server.server import StoreServer

    interval = expiry_interval(args.expiry_interval)
    url = existing_store_url(args.data_dir, args.db)
    cpu = writer_cpu(args.writer_cpu, writer_process=args.writer == "process", sqlite=url.startswith("sqlite"))

    async def run() -> None:
        server = StoreServer(
            url,
            position_file=position_file(args.data_dir),
            expiry_interval_s=interval,
            writer_process=args.writer == "process",
            writer_cpu=cpu,
        )
        port = await server.start(args.host, args.port)
        heap.settle()  # started: what exists now lives as long as the server
        advertiser = None
        try:
            if not args.no_mdns:
                advertiser = StoreAdvertiser(
                    store_id=server.store.id, name=server.store.name, port=port, interface=args.mdns_interface
                )
                await advertiser.start()
            shown = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104 - display only
            print(
                f"Store server {server.store.name!r} listening on ws://{shown}:{port} "
                f"(registers: {REGISTER_PATH}, storefront feed: {FEED_PATH}); Ctrl-C stops it.",
                flush=True,
            )
            await _until_interrupted()
        finally:
            if advertiser is not None:
                await advertiser.stop()
            await server.stop()
        print("Store server stopped.", flush=True)

    asyncio.run(run())
    return 0


TOKEN_ENV = "POS_TOKEN"  # noqa: S105 - the variable's name, not a token


def read_token(token: str | None, token_file: Path | None, kind: str, data_dir: Path | None = None) -> str:
    """``--token``, else ``--token-file``, else ``$POS_TOKEN``, else (given ``data_dir``) ``DATA_DIR/KIND.token``.

    Raises:
        PosError: none of them holds a token.
    """
    if token:
        return token
    if token_file is not None:
        return _token_in(token_file, kind)
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env
    if data_dir is not None:
        path = data_dir / f"{kind}.token"
        if path.exists():
            return _token_in(path, kind)
    saved = f", or save one in {data_dir / f'{kind}.token'}" if data_dir is not None else ""
    raise PosError(
        f"No {kind} credential: pass --token-file PATH or set {TOKEN_ENV}{saved} "
        f"(make one with `pos store token --kind {kind} --name NAME`)."
    )


def _token_in(path: Path, kind: str) -> str:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise PosError(f"Cannot read the {kind} credential in {path} ({exc.strerror}).") from None
    if not token:
        raise PosError(f"{path} is empty; save a {kind} credential in it (`pos store token --kind {kind}`).")
    return token


def register(args: argparse.Namespace) -> int:
    from pos_desktop.app.main import run_register

    overrides = lanes.register_lane(args)
    overrides(lane_settings(args))  # a bad DATA_DIR/lane.json or option is said before anything starts
    return run_register(
        server_url=args.server,
        token=read_token(args.token, args.token_file, "register", args.data_dir),
        data_dir=args.data_dir,
        mdns_interface=args.mdns_interface,
        printer=None,
        register_name=args.name,
        lane_overrides=overrides,  # over the store's settings for this lane, else DATA_DIR/lane.json
    )


def describe_event(event_type: str, data: dict[str, object]) -> str:
    if event_type == "sale.completed":
        lines = data.get("lines")
        count = len(lines) if isinstance(lines, list) else 0
        total, currency = data.get("total"), data.get("currency")
        from pos_core.money import format_money

        amount = format_money(total, str(currency)) if isinstance(total, int) else "?"
        return f"sale {data.get('id')} at {data.get('register')}: {count} line(s), total {amount}"
    if event_type == "stock.changed":
        return (
            f"stock {data.get('sku')}: on hand {data.get('on_hand')}, reserved {data.get('reserved')}, "
            f"available {data.get('available')}"
        )
    if event_type.startswith("reservation.") and "reservation_id" in data:
        return f"reservation {data['reservation_id']} {data.get('status')}: {_held(data.get('lines'))}"
    if event_type.startswith("order."):
        reference = f" ({data['reference']})" if data.get("reference") else ""
        state = f"{data.get('channel')} {data.get('status')}"
        return f"order {data.get('order_id')}{reference} {state}: {_held(data.get('lines'))}"
    if event_type == "product.changed":
        changed = data.get("changed")
        fields = [str(f) for f in changed] if isinstance(changed, list) else []
        what = "new" if fields[:1] == ["sku"] else f"changed {', '.join(fields)}"
        return f"product {data.get('sku')} {data.get('name')!s}: {what}"
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))


def _held(lines: object) -> str:
    """``2 x SKU-1, 1 x SKU-2`` from an event's lines."""
    if not isinstance(lines, list):
        return "-"
    return ", ".join(f"{ln.get('quantity')} x {ln.get('sku')}" for ln in lines if isinstance(ln, dict)) or "-"


def feed(args: argparse.Namespace) -> int:
    from store_server.feed_client import FeedEvent, follow_feed

    if args.count is not None and args.count < 1:
        raise PosError("--count must be at least 1; leave it out to follow the feed until Ctrl+C.")
    stop = asyncio.Event()
    seen = 0

    def on_event(event: FeedEvent) -> None:
        nonlocal seen
        if args.count is not None and seen >= args.count:
            return  # the rest of a batch already on the wire after the count was reached
        if args.json:
            print(event.to_json_line(), flush=True)
        else:
            line = describe_event(event.type, event.data)
            print(f"#{event.seq:<6} {event.at[11:19]} {event.type:<15} {line}", flush=True)
        seen += 1
        if args.count is not None and seen >= args.count:
            stop.set()

    def on_status(text: str) -> None:
        print(f"feed: {text}", file=sys.stderr, flush=True)

    token = read_token(args.token, args.token_file, "storefront")

    async def run() -> None:
        follower = asyncio.create_task(
            follow_feed(
                endpoint_url(args.server, FEED_PATH), token, args.since, on_event, stop=stop, on_status=on_status
            )
        )
        interrupted = asyncio.create_task(_until_interrupted())
        await asyncio.wait({follower, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        interrupted.cancel()
        await follower

    asyncio.run(run())
    return 0


def sim_lane(args: argparse.Namespace) -> int:
    from pos_desktop.lane.sim import run_sim_lane

    if args.sales < 1:
        raise PosError("--sales must be at least 1.")
    token = read_token(args.token, args.token_file, "register")
    acknowledged = asyncio.run(
        run_sim_lane(endpoint_url(args.server, REGISTER_PATH), token, args.sales, args.seed, args.name, pin=args.pin)
    )
    print(f"{acknowledged} of {args.sales} sales acknowledged by the store server.")
    return 0 if acknowledged == args.sales else 1


def receipts(args: argparse.Namespace) -> int:
    from peripherals.escpos_decode import decode_escpos, printed_lines

    path = args.file or Path(default_printer(args.data_dir).removeprefix("file:"))
    try:
        data = path.read_bytes()
    except OSError:
        raise PosError(f"No receipts at {path}; has the register printed any?") from None
    found = [r for r in decode_escpos(data) if not r.is_empty()]
    width = 42
    for receipt in found[-max(args.last, 1) :]:
        for line in printed_lines(receipt):  # a barcode, QR code or logo as [barcode CODE128: ...], [image ...]
            room = width // 2 if line.big else width
            text = {"center": line.text.center(room), "right": line.text.rjust(room)}.get(line.align, line.text)
            print(text.rstrip())
        marks = (["cut"] if receipt.cut else ["NO CUT"]) + [f"drawer kick pin {k.pin}" for k in receipt.drawer_kicks]
        print(f"{'=' * 10} {', '.join(marks)} {'=' * 10}")
    return 0


def demo(args: argparse.Namespace) -> int:
    from pos_cli.demo import run_demo

    return run_demo(args.data_dir, headless=args.headless, sales=args.sales, port=args.port)
