"""The lane's devices, opened from ``DATA_DIR/lane.json`` (``peripherals.lane_config``).

One device that cannot be set up (a mistyped address, a missing folder) does not stop the
register: it is left out and its sentence is kept in ``problems`` for the status line, so the
cashier can still sell with what works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from peripherals.device import Device
from peripherals.drawer import CashDrawer, PrinterDrawer, SensorLine, open_drawer
from peripherals.drawer_monitor import DrawerAlert, DrawerMonitor
from peripherals.errors import PeripheralError
from peripherals.lane_config import DrawerSettings, LaneConfig, PrinterSettings
from peripherals.payment import TerminalTimeouts
from peripherals.printer_setup import printer_setup
from peripherals.serial_scanner import SerialScanner, open_scanner
from peripherals.worker import DeviceWorker
from pos_desktop.lane.card import CardStation
from pos_desktop.lane.customer_display import DisplayStation
from pos_desktop.lane.printing import ReceiptStation
from pos_desktop.lane.weighing import ScaleStation

logger = logging.getLogger(__name__)

PRINT_QUEUE_FOLDER = "print-queue"
T = TypeVar("T")


@dataclass
class SerialDrawerStation:
    """A cash drawer with its own serial interface, opened on its own thread."""

    drawer: CashDrawer
    worker: DeviceWorker

    def open(self) -> None:
        self.worker.submit(self.drawer.open)

    def close(self) -> None:
        self.worker.submit(self.drawer.close)
        self.worker.close()


@dataclass
class LaneDevices:
    """What this lane has; a device that is not set up (or failed to) is None."""

    printer: ReceiptStation | None = None
    serial_drawer: SerialDrawerStation | None = None
    """Only a drawer on its own port; a drawer on the printer opens in the receipt's job."""
    drawer_monitor: DrawerMonitor | None = None
    scale: ScaleStation | None = None
    display: DisplayStation | None = None
    card: CardStation | None = None
    scanner: SerialScanner | None = None
    """A serial scanner, read on its own thread once claimed; its scans are ``DATA`` events."""
    drawer_on_printer: bool = True
    """The cash drawer hangs on the printer (so a cash receipt's job opens it); the default
    when lane.json names no drawer."""
    problems: list[str] = field(default_factory=list)

    def models(self) -> list[Device]:
        """Each device's model (health, events), for the screen to follow."""
        stations = (self.printer, self.scale, self.display, self.card)
        models = [station.device for station in stations if station is not None]
        return models if self.scanner is None else [*models, self.scanner]

    def close(self) -> None:
        if self.drawer_monitor is not None:
            self.drawer_monitor.stop()
        for station in (self.printer, self.serial_drawer, self.scale, self.display, self.card, self.scanner):
            if station is not None:
                try:
                    station.close()
                except Exception:  # shutting down: one stuck device must not keep the others open
                    logger.warning("closing %r failed", station, exc_info=True)


def open_lane_devices(
    config: LaneConfig,
    data_dir: Path,
    *,
    on_drawer_alert: Callable[[DrawerAlert], None] | None = None,
    drawer_poll_s: float = 1.0,
    terminal_timeouts: TerminalTimeouts = TerminalTimeouts(),  # noqa: B008 -- frozen
) -> LaneDevices:
    """Open every configured device; nothing is contacted yet except to set up files.

    Args:
        on_drawer_alert: called on the monitor's thread when the drawer is left open (and when
            it closes again); the monitor runs only for a ``drawer`` section with a sensor.
    """
    problems: list[str] = []

    def attempt(make: Callable[[], T]) -> T | None:
        try:
            return make()
        except PeripheralError as exc:
            logger.warning("lane device not set up: %s", exc)
            problems.append(str(exc))
            return None

    printer, drawer, scale, display, terminal = (
        config.printer,
        config.drawer,
        config.scale,
        config.display,
        config.terminal,
    )
    devices = LaneDevices(problems=problems, drawer_on_printer=drawer is None or drawer.target == "printer")
    if printer is not None:
        pin = drawer.pin if drawer is not None else 2
        devices.printer = attempt(lambda: _set_up_printer(printer, data_dir, pin, problems))
    if drawer is not None:
        attempt(lambda: _set_up_drawer(devices, drawer, on_drawer_alert, drawer_poll_s))
    if scale is not None:
        devices.scale = attempt(lambda: ScaleStation(scale))
    if display is not None:
        devices.display = attempt(lambda: DisplayStation(display))
    if terminal is not None:
        devices.card = attempt(lambda: CardStation(terminal, data_dir, timeouts=terminal_timeouts))
    if (scan := config.scanner) is not None:
        devices.scanner = attempt(lambda: open_scanner(scan.target, scan.terminator, scan.prefix, scan.suffix))
    return devices


def _set_up_printer(printer: PrinterSettings, data_dir: Path, pin: int, problems: list[str]) -> ReceiptStation:
    setup = printer_setup(printer, data_dir)
    if setup.problem is not None:  # the logo: receipts print without it, and the status line says why
        problems.append(setup.problem)
    return ReceiptStation(
        printer.target, data_dir / PRINT_QUEUE_FOLDER, fmt=setup.format, layout=setup.layout, drawer_pin=pin
    )


def _set_up_drawer(
    devices: LaneDevices,
    drawer: DrawerSettings,
    on_alert: Callable[[DrawerAlert], None] | None,
    poll_s: float,
) -> None:
    sensor: SensorLine | None = drawer.sensor  # type: ignore[assignment]  # checked when the file was read
    station = devices.printer
    cash_drawer = open_drawer(
        drawer.target, printer=station.printer if station else None, pin=drawer.pin,
        kick=drawer.opening_sequence, sensor=sensor, open_when_high=drawer.open_when_high,
    )  # fmt: skip
    if isinstance(cash_drawer, PrinterDrawer):
        assert station is not None  # open_drawer refuses a printer drawer without a printer
        worker = station.worker  # a status poll queues behind the receipt on the same printer
    else:
        worker = DeviceWorker("cash-drawer")
        devices.serial_drawer = SerialDrawerStation(cash_drawer, worker)
    if drawer.sensor is not None and on_alert is not None:
        devices.drawer_monitor = DrawerMonitor(
            cash_drawer, worker, on_alert, alert_after_s=drawer.alert_after_s, interval_s=poll_s
        )
