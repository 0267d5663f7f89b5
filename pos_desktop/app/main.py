"""``run_register``: start the register app (the ``pos register`` command calls it)."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import signal
import sys
from types import FrameType

from pos_core.errors import PosError
from pos_desktop.app.bridge import LaneBridge
from pos_desktop.app.controller import LaneController
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.window import RegisterWindow
from pos_desktop.display import display_problem
from pos_desktop.lane.printing import ReceiptStation

logger = logging.getLogger(__name__)

DISCOVERY_SECONDS = 10.0
NO_PRINTER = "none"


def create_register(url: str, token: str, *, printer: str, register_name: str) -> RegisterWindow:
    """Build the register window with its loop thread, bridge, controller and printer station.

    Needs a ``QApplication``. Call ``start()`` on the result to connect, ``shutdown()`` to stop.

    Args:
        url: the store server, ``ws://host:port``.
        token: this register's credential.
        printer: ``file:PATH``, ``tcp:HOST:PORT``, or ``none``.
        register_name: the lane's name on sales and receipts.
    """
    loop = LoopThread()
    loop.start()
    station = None if printer == NO_PRINTER else ReceiptStation(printer)
    controller = LaneController(LaneBridge(), loop, url, token, station)
    printer_text = "Receipt printer: none configured" if station is None else "Receipt printer: ready"
    return RegisterWindow(controller, loop, register_name=register_name, printer_text=printer_text)


def run_register(
    *,
    server_url: str | None,
    token: str,
    data_dir: pathlib.Path,
    mdns_interface: str | None,
    printer: str,
    register_name: str,
) -> int:
    """Run the register until its window closes or Ctrl-C.

    Args:
        server_url: ``ws://host:port`` of the store server; ``None`` finds it by mDNS.
        token: the register's credential from pairing (``pos store token --kind register``).
        data_dir: where the register keeps its files (created if missing).
        mdns_interface: a local IPv4 address to browse for the store on; ``None`` for all.
        printer: ``file:PATH``, ``tcp:HOST:PORT``, or ``none``.
        register_name: this lane's name on sales and receipts, e.g. ``Till 1``.

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

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from pos_desktop.app.collector import MainThreadCollector
    from pos_desktop.app.style import STYLESHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Register")
    app.setStyleSheet(STYLESHEET)
    collector = MainThreadCollector()
    window = create_register(server_url, token, printer=printer, register_name=register_name)

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
