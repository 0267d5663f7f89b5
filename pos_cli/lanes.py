"""``pos store lane set|show`` and ``pos store lanes``: the lane settings the store keeps for its
registers; and the settings ``pos register`` opens its devices with."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pos_core.errors import PosError

if TYPE_CHECKING:
    from peripherals.lane_config import LaneConfig

AddStoreLocation = Callable[[argparse.ArgumentParser], None]


def add_parsers(store_sub: Any, add_store_location: AddStoreLocation) -> None:
    """``lane set NAME FILE``, ``lane show NAME`` and ``lanes`` under ``pos store``."""
    lane = store_sub.add_parser(
        "lane", help="set or show the device settings (lane.json) the store keeps for a register"
    )
    lane_sub = lane.add_subparsers(dest="lane_command", required=True, metavar="LANE_COMMAND")
    put = lane_sub.add_parser("set", help="store FILE (a lane.json) as register NAME's settings, checked first")
    add_store_location(put)
    put.add_argument("name", metavar="NAME", help="the register's --name, e.g. 'Till 1'")
    put.add_argument("file", metavar="FILE", type=Path, help="the lane.json to store")
    put.add_argument("--by", metavar="WHO", help="who makes the change (default: installer:<your login name>)")
    show = lane_sub.add_parser("show", help="print register NAME's settings (JSON on stdout, version on stderr)")
    add_store_location(show)
    show.add_argument("name", metavar="NAME", help="the register's --name, e.g. 'Till 1'")
    listed = store_sub.add_parser("lanes", help="list the lanes the store keeps settings for")
    add_store_location(listed)


def lane(args: argparse.Namespace) -> int:
    return lane_set(args) if args.lane_command == "set" else lane_show(args)


def lane_set(args: argparse.Namespace) -> int:
    from store_server.db.engine import open_database
    from store_server.usecases.lanes import set_lane_config
    from store_server.usecases.store import load_store

    document = _read_document(args.file)
    url = _store_url(args)
    db = open_database(url)
    try:
        with db.write() as session:
            load_store(session)  # refuses a database that was never initialised
            stored = set_lane_config(session, args.name, document, args.by or _installer(),
                                     where=f"{args.file} for {args.name.strip()!r}")  # fmt: skip
    finally:
        db.close()
    if stored.changed:
        print(f"Stored the lane settings for {stored.lane!r} as version {stored.version}; "
              "the register opens its devices with them when it next starts.")  # fmt: skip
    else:
        print(
            f"The store already keeps these settings for {stored.lane!r} (version {stored.version}); nothing changed."
        )
    return 0


def lane_show(args: argparse.Namespace) -> int:
    from store_server.usecases.lanes import get_lane_config

    found = _read(args, get_lane_config, args.name)
    if found is None:
        raise PosError(
            f"The store keeps no lane settings for {args.name!r}; that register uses its own DATA_DIR/lane.json. "
            f"Store some with `pos store lane set {args.name!r} FILE`."
        )
    print(f"lane {found.lane!r} version {found.version}, changed by {found.changed_by} at {found.changed_at}",
          file=sys.stderr)  # fmt: skip
    print(json.dumps(found.document, indent=2, sort_keys=True))
    return 0


def lanes(args: argparse.Namespace) -> int:
    from store_server.usecases.lanes import list_lane_configs

    rows = [
        (s.lane, str(s.version), s.changed_by, s.changed_at, ",".join(sorted(s.document)) or "-")
        for s in _read(args, list_lane_configs)
    ]
    header = ("LANE", "VERSION", "CHANGED BY", "CHANGED AT", "DEVICES")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def register_lane(args: argparse.Namespace) -> Callable[[LaneConfig], LaneConfig]:
    """What ``pos register`` puts over the lane's settings: each device option given, and the
    default printer (a file in the data dir) when the settings name none."""
    from peripherals.lane_config import PrinterSettings
    from pos_cli.defaults import default_printer
    from pos_cli.lane_options import lane_settings

    def overrides(base: LaneConfig) -> LaneConfig:
        lane = lane_settings(args, base)
        printer = lane.printer or PrinterSettings(default_printer(args.data_dir))
        return replace(lane, printer=None if printer.target == "none" else printer)

    return overrides


def _read(args: argparse.Namespace, fn: Callable[..., Any], *fn_args: Any) -> Any:
    from store_server.db.engine import open_database
    from store_server.usecases.store import load_store

    db = open_database(_store_url(args))
    try:
        with db.read() as session:
            load_store(session)
            return fn(session, *fn_args)
    finally:
        db.close()


def _store_url(args: argparse.Namespace) -> str:
    from pos_cli.commands import existing_store_url

    return existing_store_url(args.data_dir, args.db)


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PosError(f"Cannot read the lane settings {path} ({exc.strerror or exc}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PosError(
            f"The lane settings {path} are not valid JSON (line {exc.lineno}: {exc.msg}); fix the file."
        ) from None


def _installer() -> str:
    try:
        return f"installer:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "installer"
