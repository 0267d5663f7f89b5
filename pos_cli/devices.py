"""``pos devices``: list, find and try the lane's hardware, for the person installing a till.

Devices come from ``DATA_DIR/lane.json`` (see docs/peripherals.md) and are overridden by options
(``--printer TARGET`` ...). Every command blocks on the device with a timeout and ends with one
line saying what happened; a failure is one sentence on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from pos_cli.lane_options import add_device_options, lane_settings

if TYPE_CHECKING:
    from peripherals.drawer import PrinterDrawer, SerialDrawer
    from peripherals.lane_config import LaneConfig
    from peripherals.line_display import LineDisplay
    from peripherals.printer import ReceiptPrinter
    from peripherals.printer_setup import PrinterSetup
    from peripherals.scale import Scale
    from peripherals.wedge import Scan
    from pos_core.receipt import ReceiptRow


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pos devices ...`` on the top-level sub-parsers."""
    common = argparse.ArgumentParser(add_help=False)
    add_device_options(common)
    common.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for an answer (default 1)")

    devices = sub.add_parser("devices", help="list, find and try the lane's hardware (for installers)")
    dsub = devices.add_subparsers(dest="devices_command", required=True, metavar="DEVICES_COMMAND")
    dsub.add_parser("list", parents=[common], help="the lane's devices and whether each answers")
    detect = dsub.add_parser("detect", parents=[common], help="find printers, scanners and scales (USB, serial)")
    detect.add_argument("--port", action="append", metavar="DEVICE", help="probe only this serial port (repeatable)")
    detect.add_argument("--baudrate", type=int, default=9600, help="the one speed ports are asked at (default 9600)")
    detect.add_argument("--no-usb", action="store_true", help="do not list USB devices")
    detect.add_argument("--no-probe", action="store_true", help="list serial ports without asking them anything")
    detect.add_argument("--json", action="store_true", help="one JSON object instead of text")
    dsub.add_parser("test-print", parents=[common], help="print a test page on the receipt printer")
    dsub.add_parser("open-drawer", parents=[common], help="open the cash drawer and read its sensor")
    read_scale_parser = dsub.add_parser("read-scale", parents=[common], help="read the weight on the scale")
    read_scale_parser.add_argument(
        "--tare", type=_grams, default=0, metavar="GRAMS", help="preset tare to take off (a container), whole grams"
    )
    scan = dsub.add_parser("scan", parents=[common], help="print each code the serial scanner reads")
    scan.add_argument("--terminator", choices=("cr", "lf", "crlf"), help="how the scanner ends a code (default cr)")
    scan.add_argument("--seconds", type=float, default=10.0, help="how long to listen (default 10)")
    display = dsub.add_parser("display", parents=[common], help="show TEXT on the customer display")
    display.add_argument("text", metavar="TEXT", help="the upper line (20 characters)")
    display.add_argument("--lower", default="", help="the lower line")
    pay = dsub.add_parser("pay", parents=[common], help="take a test card payment of AMOUNT on the terminal")
    pay.add_argument("amount", metavar="AMOUNT", help="e.g. 0.01 or 12,50")
    pay.add_argument("--currency", default="EUR", help="ISO 4217 code (default: %(default)s)")
    pay.add_argument("--sale-ref", default="installer test", help="what the payment is for (default: %(default)s)")
    refund = dsub.add_parser("refund", parents=[common], help="return AMOUNT to a card on the terminal")
    refund.add_argument("amount", metavar="AMOUNT", help="e.g. 0.01 or 12,50")
    refund.add_argument("--currency", default="EUR", help="ISO 4217 code (default: %(default)s)")
    refund.add_argument("--sale-ref", default="installer test", help="what the refund is for (default: %(default)s)")
    refund.add_argument(
        "--original", metavar="PAYMENT_ID", help="the card payment it refunds (printed by `pos devices pay`)"
    )


def run(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "list": list_devices,
        "detect": detect,
        "test-print": test_print,
        "open-drawer": open_drawer,
        "read-scale": read_scale,
        "scan": listen_to_scanner,
        "display": show_text,
        "pay": pay,
        "refund": refund,
    }
    return commands[args.devices_command](args)


# -- settings ------------------------------------------------------------------------------------


def _missing(device: str, option: str, section: str) -> Exception:
    from peripherals.errors import ConfigurationError

    return ConfigurationError(
        f"No {device} is set for this lane; pass {option}, or add a {section!r} section to lane.json "
        "in the data folder (see docs/peripherals.md)."
    )


def make_printer(cfg: LaneConfig) -> ReceiptPrinter:
    from peripherals.escpos_codec import DEFAULT_FORMAT, ReceiptFormat
    from peripherals.printer import open_printer

    if cfg.printer is None or not cfg.printer.target:
        raise _missing("receipt printer", "--printer TARGET", "printer")
    fmt = DEFAULT_FORMAT if cfg.printer.code_page is None else ReceiptFormat(code_page=cfg.printer.code_page)
    return open_printer(cfg.printer.target, fmt)


def make_drawer(cfg: LaneConfig, timeout: float) -> PrinterDrawer | SerialDrawer:
    from peripherals.drawer import PrinterDrawer, SensorLine
    from peripherals.drawer import open_drawer as drawer_at
    from peripherals.lane_config import DrawerSettings

    if cfg.drawer is None and cfg.printer is None:
        raise _missing(
            "cash drawer", "--drawer serial:DEVICE (or --printer TARGET for a drawer on the printer)", "drawer"
        )
    d = cfg.drawer or DrawerSettings()  # a printer always has its drawer port
    printer = make_printer(cfg) if d.target == "printer" else None
    sensor: SensorLine | None = d.sensor  # type: ignore[assignment]  # checked when the settings were read
    drawer = drawer_at(
        d.target, printer=printer, pin=d.pin, kick=d.opening_sequence, sensor=sensor, open_when_high=d.open_when_high
    )
    if isinstance(drawer, PrinterDrawer):
        drawer.timeout = timeout
    return drawer


def make_scale(cfg: LaneConfig, timeout: float) -> Scale:
    from peripherals.scale import open_scale

    if cfg.scale is None or not cfg.scale.target:
        raise _missing("scale", "--scale serial:DEVICE", "scale")
    return open_scale(cfg.scale.target, cfg.scale.protocol, cfg.scale.unit, timeout)


def make_display(cfg: LaneConfig) -> LineDisplay:
    from peripherals.errors import ConfigurationError
    from peripherals.line_display import open_display

    if cfg.display is None or not cfg.display.target:
        raise _missing("customer display", "--display TARGET", "display")
    if cfg.display.protocol not in ("epson", "cd5220"):
        raise ConfigurationError(
            f"The display protocol {cfg.display.protocol!r} is not supported; use epson or cd5220."
        )
    return open_display(cfg.display.target, "epson" if cfg.display.protocol == "epson" else "cd5220")


# -- commands ------------------------------------------------------------------------------------


def test_print(args: argparse.Namespace) -> int:
    """A test page in the lane's printer profile, with its logo and sale code, then the printer's status."""
    from peripherals.printer import open_printer
    from peripherals.printer_setup import printer_setup

    cfg = lane_settings(args)
    if cfg.printer is None or not cfg.printer.target:
        raise _missing("receipt printer", "--printer TARGET", "printer")
    setup = printer_setup(cfg.printer, args.data_dir)
    printer = open_printer(cfg.printer.target, setup.format)
    printer.print_receipt(test_page(printer.describe(), setup))
    status = printer.status(args.timeout)
    profile, layout = setup.profile, setup.layout
    logo = setup.format.logo
    logo_said = f"{logo.width} x {logo.height} dots" if logo else (setup.problem or "none")
    print(f"Printed a test page on the {printer.describe()}.")
    print(
        f"Profile: {profile.name} ({profile.description}), {layout.width} columns, {profile.dots} dots; "
        f"sale code: {layout.sale_code}; logo: {logo_said}"
    )
    print(f"Status: {status.problem() or 'ready'}")
    return 0


TEST_SALE_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
"""The sale id the test page's barcode or QR code carries."""


def test_page(where: str, setup: PrinterSetup) -> list[ReceiptRow]:
    """Sizes, alignment, bold, the code page's accents, a ruler as wide as the line, the sale code."""
    import textwrap

    from pos_core.receipt import ReceiptRow, sale_barcode, sale_qr_code

    width = setup.layout.width
    euro = "Euro and accents: € £ ä ö ü ß é ñ"
    rows = [
        ReceiptRow("TEST PAGE", "center", big=True),
        ReceiptRow(time.strftime("%Y-%m-%d %H:%M:%S"), "center"),
        *(ReceiptRow(line, "center") for line in textwrap.wrap(where, width)),
        ReceiptRow(f"{setup.profile.name}, {width} columns"[:width], "center"),
        ReceiptRow(""),
        ReceiptRow("Left"),
        ReceiptRow("Centre", "center"),
        ReceiptRow("Right", "right"),
        ReceiptRow("Bold", bold=True),
        ReceiptRow(euro if len(euro) <= width else euro.removeprefix("Euro and accents: ")),
        ReceiptRow(("1234567890" * (width // 10 + 1))[:width]),
        ReceiptRow(""),
    ]
    if setup.layout.sale_code == "qr":
        rows.append(ReceiptRow(sale_qr_code(TEST_SALE_ID), "center", qr=True))
    elif setup.layout.sale_code == "code128":
        rows.append(ReceiptRow(sale_barcode(TEST_SALE_ID), "center", barcode="CODE128"))
    rows += [ReceiptRow(line, "center") for line in textwrap.wrap("If you can read this, the printer works.", width)]
    return rows


def open_drawer(args: argparse.Namespace) -> int:
    from peripherals.printer_status import Drawer

    drawer = make_drawer(lane_settings(args), args.timeout)
    drawer.open()
    state = drawer.status()
    deadline = time.monotonic() + args.timeout
    while state is Drawer.CLOSED and time.monotonic() < deadline:  # the drawer springs open after the pulse
        time.sleep(0.05)
        state = drawer.status()
    drawer.close()
    said = {
        Drawer.OPEN: "its sensor says open",
        Drawer.CLOSED: "but its sensor still says closed; check the drawer cable, or the open_when_high setting",
        Drawer.UNKNOWN: "its sensor does not report (no sensor, or the printer does not answer)",
    }[state]
    print(f"Sent the open command to the {drawer.describe()}; {said}.")
    return 0


def _grams(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of grams (e.g. 120)")
    return int(text)


def read_scale(args: argparse.Namespace) -> int:
    from peripherals.scale_codec import WeightState

    cfg = lane_settings(args)
    scale = make_scale(cfg, args.timeout)
    reading = scale.read_weight(tare_grams=args.tare)
    unit = cfg.scale.unit if cfg.scale else "kg"
    weight = "" if reading.grams is None else f" {_in_unit(reading.grams, unit)} ({reading.grams} g)"
    if reading.grams is not None and reading.tare_grams:
        weight += f" net of a {reading.tare_grams} g tare"
    elif reading.grams is not None and reading.net:
        weight += " net (the scale is tared)"
    state = {
        WeightState.STABLE: "Stable",
        WeightState.IN_MOTION: "In motion",
        WeightState.UNDER_ZERO: "Under zero",
        WeightState.OVER_CAPACITY: "Over capacity",
        WeightState.ERROR: "Error",
        WeightState.BELOW_TARE: f"Lighter than the {reading.tare_grams} g tare",
    }[reading.state]
    verdict = "may be charged" if reading.sellable else "may not be charged"
    hint = "; put the item in its container on the scale" if reading.state is WeightState.BELOW_TARE else ""
    print(f"{state}{weight} on the {scale.describe()}{hint}; this weight {verdict}.")
    return 0


def listen_to_scanner(args: argparse.Namespace) -> int:
    """Print each code the lane's serial scanner reads, with its symbology, for ``--seconds``; Ctrl-C ends it."""
    import queue

    from peripherals.device import DeviceEvent, EventKind
    from peripherals.errors import ConfigurationError, DeviceUnavailable
    from peripherals.printer_status import Health
    from peripherals.serial_scanner import BACK_BY_ITSELF, open_scanner
    from peripherals.wedge import Scan

    settings = lane_settings(args).scanner  # with --scanner put over lane.json's
    if settings is None:
        raise _missing("serial scanner", "--scanner serial:DEVICE", "scanner")
    if args.seconds <= 0:
        raise ConfigurationError("--seconds must be above 0.")
    scanner = open_scanner(settings.target, args.terminator or settings.terminator, settings.prefix, settings.suffix)
    events: queue.Queue[DeviceEvent] = queue.Queue()
    scanner.subscribe(events.put)
    scanner.claim()
    scanner.enable()
    codes, opened = 0, False
    deadline = time.monotonic() + args.seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=left)
            except queue.Empty:
                break
            if event.kind is EventKind.DATA and isinstance(event.data, Scan):
                codes += 1
                print(_scan_line(event.data), flush=True)
            elif event.kind is EventKind.HEALTH and event.detail == Health.ONLINE.value and not opened:
                opened = True
                print(f"Listening to the {scanner.describe()} for {args.seconds:g} s; scan a few barcodes.", flush=True)
            elif event.kind is EventKind.ERROR:
                if not opened:  # the port never opened: nothing to listen to
                    raise DeviceUnavailable(event.detail.removesuffix(BACK_BY_ITSELF))
                print(event.detail, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        scanner.close()
    print(f"{codes} code{'' if codes == 1 else 's'} read.")
    return 0


def _scan_line(scan: Scan) -> str:
    if scan.aim_id is None:
        return f"{scan.data}  (no symbology identifier: turn on AIM ids on the scanner to see it)"
    return f"{scan.data}  {scan.symbology or 'unknown symbology'} ({scan.aim_id})"


def _in_unit(grams: int, unit: str) -> str:
    from peripherals.scale_codec import from_grams

    return f"{from_grams(grams, unit, 3 if unit in ('kg', 'lb') else 0)} {unit}"


def show_text(args: argparse.Namespace) -> int:
    display = make_display(lane_settings(args))
    display.show(args.text, args.lower)
    print(f"Showed {args.text!r} on the {display.describe()}.")
    return 0


def terminal_target(cfg: LaneConfig) -> str:
    """``tcp:HOST:PORT`` of the lane's terminal (settings may leave out the ``tcp:``)."""
    if cfg.terminal is None:
        raise _missing("payment terminal", "--terminal HOST:PORT", "terminal")
    address = cfg.terminal.address
    return address if address.startswith("tcp:") else f"tcp:{address}"


def pay(args: argparse.Namespace) -> int:
    """A real card payment through the lane's intent store (``DATA_DIR/payments``), as the register makes.

    Intents left unsettled by an earlier run are settled first by asking the terminal; Ctrl-C
    while the terminal waits for the card cancels the payment there.
    """
    return _card(args, refund=False)


def refund(args: argparse.Namespace) -> int:
    """A refund to a card, the same way as ``pay``; ``--original`` names the payment it refunds."""
    return _card(args, refund=True)


def _card(args: argparse.Namespace, *, refund: bool) -> int:
    from peripherals.errors import PeripheralError
    from peripherals.payment import IntentStore, Prompt, open_terminal
    from peripherals.worker import DeviceWorker
    from pos_core.money import format_money, parse_amount

    cfg = lane_settings(args)
    amount = parse_amount(args.amount, args.currency)
    store = IntentStore(args.data_dir / "payments")
    terminal = open_terminal(terminal_target(cfg), store)

    def show(prompt: Prompt) -> None:
        print(f"Terminal: {prompt.text}", flush=True)

    try:
        with DeviceWorker("card terminal") as worker:
            for earlier in worker.submit(terminal.recover).result():
                print(f"Earlier payment {earlier.intent_id}: {earlier.message}", flush=True)
            money = format_money(amount, args.currency)
            if refund:
                print(f"Asking the {terminal.describe()} to refund {money}...", flush=True)
                payment = worker.submit(
                    terminal.refund, amount, args.currency, args.sale_ref, args.original, on_prompt=show
                )
            else:
                print(f"Asking the {terminal.describe()} for {money}...", flush=True)
                payment = worker.submit(terminal.pay, amount, args.currency, args.sale_ref, on_prompt=show)
            try:
                result = payment.result()
            except KeyboardInterrupt:
                print("Cancelling the payment on the terminal...", flush=True)
                terminal.cancel()
                result = payment.result()
    finally:
        terminal.close()
        store.close()
    if not result.approved:
        raise PeripheralError(result.message)
    print(f"{result.message} [{'refund' if refund else 'payment'} id {result.intent_id}]")
    return 0


def list_devices(args: argparse.Namespace) -> int:
    cfg = lane_settings(args)
    rows: list[tuple[str, str | None, Callable[[], str]]] = [
        ("receipt printer", cfg.printer.target if cfg.printer else None, lambda: _printer_state(cfg, args.timeout)),
        ("cash drawer", cfg.drawer.target if cfg.drawer else None, lambda: _drawer_state(cfg, args.timeout)),
        ("scale", cfg.scale.target if cfg.scale else None, lambda: _scale_state(cfg, args.timeout)),
        (
            "customer display",
            cfg.display.target if cfg.display else None,
            lambda: "not checked: displays do not answer",
        ),
        ("payment terminal", cfg.terminal.address if cfg.terminal else None, lambda: "not checked: try `pay 0.01`"),
        ("serial scanner", cfg.scanner.target if cfg.scanner else None, lambda: "not checked: try `scan`"),
    ]
    if all(target is None for _, target, _ in rows):
        print(f"No devices are set for this lane; pass them as options or write {args.data_dir / 'lane.json'}.")
        return 0
    for name, target, check in rows:
        print(f"{name:<17} {target or '-':<40} {check() if target else 'not set'}")
    return 0


def _printer_state(cfg: LaneConfig, timeout: float) -> str:
    status = make_printer(cfg).status(timeout)
    return status.problem() or "ready"


def _drawer_state(cfg: LaneConfig, timeout: float) -> str:
    drawer = make_drawer(cfg, timeout)
    state = drawer.status().value
    drawer.close()
    return f"sensor says {state}"


def _scale_state(cfg: LaneConfig, timeout: float) -> str:
    from peripherals.errors import PeripheralError

    try:
        reading = make_scale(cfg, timeout).status()
    except PeripheralError as exc:
        return str(exc)
    return f"answers: {reading.state.value}"


def detect(args: argparse.Namespace) -> int:
    from peripherals.detect import detect_devices

    report = detect_devices(
        usb=not args.no_usb,
        serial_ports=args.port,
        probe=not args.no_probe,
        baudrate=args.baudrate,
        timeout=min(args.timeout, 0.5),
    )
    if args.json:
        print(json.dumps({"devices": [asdict(d) for d in report.devices], "notes": report.notes}))
        return 0
    for d in report.devices:
        suffix = f"  -> {d.target}" + (f" --scale-protocol {d.protocol.removesuffix('8217')}" if d.protocol else "")
        print(f"{d.kind:<17} {d.description}{suffix if d.target else ''}{'  (' + d.note + ')' if d.note else ''}")
    for note in report.notes:
        print(note)
    if not report.devices:
        print("No lane devices were found.")
    return 0
