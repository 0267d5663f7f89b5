"""``run_register``: start the register app (the ``pos register`` command calls it)."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

from peripherals.errors import PeripheralError
from peripherals.lane_config import LaneConfig, PrinterSettings
from pos_core.errors import PosError
from pos_desktop.app.bridge import LaneBridge
from pos_desktop.app.controller import CATALOGUE_CHECK_S, LaneController
from pos_desktop.app.device_bridge import DeviceBridge
from pos_desktop.app.device_controller import DeviceController, DeviceTimings
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.window import RegisterWindow
from pos_desktop.display import display_problem
from pos_desktop.lane.devices import open_lane_devices
from pos_desktop.lane.lane_source import lane_source

logger = logging.getLogger(__name__)

DISCOVERY_SECONDS = 10.0
NO_PRINTER = "none"


def with_printer(lane: LaneConfig, printer: str | None) -> LaneConfig:
    """``lane`` with the printer given on the command line (``none``: no printer) put over it."""
    if printer is None:
        return lane
    return replace(lane, printer=None if printer == NO_PRINTER else PrinterSettings(printer))


def create_register(
    url: str,
    token: str,
    *,
    register_name: str,
    data_dir: pathlib.Path,
    lane: LaneConfig | None = None,
    printer: str | None = None,
    timings: DeviceTimings = DeviceTimings(),  # noqa: B008 -- frozen
    catalogue_check_s: float = CATALOGUE_CHECK_S,
) -> RegisterWindow:
    """Build the register window with its loop thread, bridges, controllers and the lane's devices.

    Needs a ``QApplication``. Call ``start()`` on the result to connect, ``shutdown()`` to stop.

    Args:
        url: the store server, ``ws://host:port``.
        token: this register's credential.
        register_name: the lane's name on sales and receipts.
        data_dir: where the print queue (``print-queue/``) and card payments (``payments/``) are kept.
        lane: the lane's devices (``DATA_DIR/lane.json``); none when not given.
        printer: a printer address put over ``lane``'s, or ``none``.
        timings: how long to wait for devices.
        catalogue_check_s: how often to ask the store what changed in its catalogue.
    """
    loop = LoopThread()
    loop.start()
    device_bridge = DeviceBridge()
    devices = open_lane_devices(
        with_printer(lane or LaneConfig(), printer), data_dir,
        on_drawer_alert=device_bridge.drawer_alerted.emit, drawer_poll_s=timings.drawer_poll_s,
        terminal_timeouts=timings.terminal,
    )  # fmt: skip
    device_controller = DeviceController(device_bridge, loop, devices, timings)
    controller = LaneController(LaneBridge(), loop, url, token, catalogue_check_s=catalogue_check_s)
    return RegisterWindow(controller, device_controller, loop, register_name=register_name)


def run_register(
    *,
    server_url: str | None,
    token: str,
    data_dir: pathlib.Path,
    mdns_interface: str | None,
    printer: str | None,
    register_name: str,
    lane: LaneConfig | None = None,
    lane_overrides: Callable[[LaneConfig], LaneConfig] | None = None,
) -> int:
    """Run the register until its window closes or Ctrl-C.

    Args:
        server_url: ``ws://host:port`` of the store server; ``None`` finds it by mDNS.
        token: the register's credential from pairing (``pos store token --kind register``).
        data_dir: where the register keeps its files (created if missing).
        mdns_interface: a local IPv4 address to browse for the store on; ``None`` for all.
        printer: a printer address over the lane's (``file:PATH``, ``tcp:HOST:PORT``, ...), or ``none``.
        register_name: this lane's name on sales and receipts, e.g. ``Till 1``.
        lane: the lane's devices; default: the settings the store server keeps for
            ``register_name``, else ``DATA_DIR/lane.json`` (``pos_desktop.lane.lane_source``).
        lane_overrides: applied to those settings (the command line's device options).

    Returns:
        The exit code: 0 after a normal close, 1 when no store server was found, 2 without a display.
    """
    if problem := display_problem():
        print(problem, file=sys.stderr)
        return 2
    data_dir.mkdir(parents=True, exist_ok=True)
    if server_url is None:
        from pos_desktop.lane.discovery import find_store

        try:
            store = asyncio.run(find_store(mdns_interface, DISCOVERY_SECONDS))
        except PosError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        server_url = store.url
        logger.info("found store %s (%s) at %s", store.name, store.store_id, server_url)
    if lane is None:
        try:
            lane = lane_source(server_url, token, register_name, data_dir).config
            lane = lane_overrides(lane) if lane_overrides is not None else lane
        except (PosError, PeripheralError) as exc:
            print(str(exc), file=sys.stderr)
            return 1

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from pos_desktop.app.collector import MainThreadCollector
    from pos_desktop.app.style import STYLESHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Register")
    app.setStyleSheet(STYLESHEET)
    collector = MainThreadCollector()
    window = create_register(
        server_url, token, register_name=register_name, data_dir=data_dir, lane=lane, printer=printer
    )

    def quit_on_sigint(signum: int, frame: FrameType | None) -> None:
        # Through the event loop, so a Ctrl-C that lands before exec() starts still quits.
        QTimer.singleShot(0, app.quit)

    previous = signal.signal(signal.SIGINT, quit_on_sigint)
    # Qt's event loop runs in C++; a timer lets Python run its signal handlers every 200 ms.
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)
    try:
        window.show()
        window.start()
        code = app.exec()
    finally:
        heartbeat.stop()
        signal.signal(signal.SIGINT, previous)
        window.shutdown()
        window.deleteLater()
        collector.stop()
    return int(code)
