"""The lane's device options, shared by ``pos register`` and ``pos devices``: ``DATA_DIR/lane.json``
with each device given on the command line put over it (docs/peripherals.md, "Lane settings")."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pos_cli.defaults import default_data_dir

if TYPE_CHECKING:
    from peripherals.lane_config import LaneConfig


def add_device_options(
    parser: argparse.ArgumentParser, *, printer_help: str = "file:, tcp:, serial:, usb: or cups: address"
) -> None:
    """``--data-dir`` and one option per device setting, in a group of their own."""
    where = parser.add_argument_group("devices (default: DATA_DIR/lane.json)")
    where.add_argument("--data-dir", type=Path, default=default_data_dir(), help="default: %(default)s")
    where.add_argument("--printer", metavar="TARGET", help=printer_help)
    where.add_argument("--drawer", metavar="TARGET", help="printer (wired to the printer) or serial:DEVICE")
    where.add_argument("--drawer-pin", type=int, choices=(2, 5), help="printer drawer pin (default 2)")
    where.add_argument("--drawer-open-when", choices=("high", "low"), help="sensor level meaning open")
    where.add_argument("--drawer-sensor", choices=("cts", "dsr", "ri", "cd", "none"), help="serial drawer line")
    where.add_argument("--scale", metavar="TARGET", help="serial:DEVICE[?baudrate=N&bytesize=7&parity=E]")
    where.add_argument("--scale-protocol", choices=("toledo", "nci", "cas"), help="default: toledo")
    where.add_argument("--scale-unit", choices=("kg", "g", "lb", "oz"), help="unit of Toledo weights (default kg)")
    where.add_argument("--display", metavar="TARGET", help="serial:DEVICE, tcp:HOST:PORT or file:PATH")
    where.add_argument("--display-protocol", choices=("epson", "cd5220"), help="default: epson")
    where.add_argument("--terminal", metavar="HOST:PORT", help="the payment terminal's address")
    where.add_argument(
        "--scanner", metavar="TARGET", help="a serial scanner: serial:DEVICE[?baudrate=N] (a keyboard wedge needs none)"
    )


def lane_settings(args: argparse.Namespace, base: LaneConfig | None = None) -> LaneConfig:
    """``base`` (default: ``DATA_DIR/lane.json``) with every device option given on the command line put over it.

    Raises:
        ConfigurationError: lane.json is not valid, or names a setting we do not know.
    """
    from peripherals import lane_config as lc

    cfg = base if base is not None else lc.load_lane_config(args.data_dir / lc.LANE_FILE)
    if args.printer:  # another address; the profile, logo and sale code of lane.json still apply
        printer = lc.PrinterSettings(args.printer) if cfg.printer is None else replace(cfg.printer, target=args.printer)
        cfg = replace(cfg, printer=printer)
    if args.drawer or args.drawer_pin or args.drawer_open_when or args.drawer_sensor:
        drawer = cfg.drawer or lc.DrawerSettings()
        if args.drawer:
            drawer = replace(drawer, target=args.drawer)
        if args.drawer_pin:
            drawer = replace(drawer, pin=args.drawer_pin)
        if args.drawer_open_when:
            drawer = replace(drawer, open_when_high=args.drawer_open_when == "high")
        if args.drawer_sensor:
            drawer = replace(drawer, sensor=None if args.drawer_sensor == "none" else args.drawer_sensor)
        cfg = replace(cfg, drawer=drawer)
    if args.scale or args.scale_protocol or args.scale_unit:
        scale = cfg.scale or lc.ScaleSettings(args.scale or "")
        cfg = replace(
            cfg,
            scale=lc.ScaleSettings(
                args.scale or scale.target,
                lc.scale_protocol(args.scale_protocol) if args.scale_protocol else scale.protocol,
                args.scale_unit or scale.unit,
            ),
        )
    if args.display or args.display_protocol:
        display = cfg.display or lc.DisplaySettings(args.display or "")
        cfg = replace(
            cfg, display=lc.DisplaySettings(args.display or display.target, args.display_protocol or display.protocol)
        )
    if args.terminal:
        cfg = replace(cfg, terminal=lc.TerminalSettings(args.terminal))
    if args.scanner:  # another port; the terminator, prefix and suffix of lane.json still apply
        scanner = lc.ScannerSettings(args.scanner) if cfg.scanner is None else replace(cfg.scanner, target=args.scanner)
        cfg = replace(cfg, scanner=scanner)
    return cfg
