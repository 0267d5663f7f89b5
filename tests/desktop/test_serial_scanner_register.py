"""A serial scanner in the real register window (offscreen): its codes take the wedge's way, only to
the screen that asked for them, against a real store server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from peripherals.fakes.serial_scanner import FakeSerialScanner
from peripherals.lane_config import LaneConfig, ScannerSettings
from peripherals.printer_status import Health
from pos_desktop.app.window import RegisterWindow
from tests.desktop.conftest import RYE, SOURDOUGH
from tests.desktop.test_lane_hardware import WAIT_MS, Opener, open_payment, open_register
from tests.desktop.test_register_window import log_in

__all__ = ["open_register"]


@pytest.fixture
def scanner() -> Iterator[FakeSerialScanner]:
    with FakeSerialScanner() as fake:
        yield fake


def reading(qtbot: QtBot, window: RegisterWindow) -> None:
    serial = window.devices.devices.scanner
    assert serial is not None
    qtbot.waitUntil(lambda: serial.health is Health.ONLINE, timeout=WAIT_MS)


def test_a_serial_scan_rings_up_on_the_sale_screen_and_nowhere_else(
    qtbot: QtBot, open_register: Opener, scanner: FakeSerialScanner
) -> None:
    window = open_register(LaneConfig(scanner=ScannerSettings(f"serial:{scanner.device}?baudrate=9600", "cr")))
    reading(qtbot, window)
    login = window.login_view
    qtbot.waitUntil(lambda: len(login.cashier_buttons) == 2, timeout=WAIT_MS)
    scanner.scan(SOURDOUGH, "]E0")
    qtbot.waitUntil(lambda: login.message.text() == "That was a barcode; log in first, then scan.", timeout=WAIT_MS)

    view = log_in(qtbot, window)
    scanner.scan(SOURDOUGH, "]E0")
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT_MS)
    assert view.scan_field.text() == "", "the code went to the sale, not into a field"

    dialog = open_payment(qtbot, window, view)
    scanner.scan(RYE, "]E0")
    qtbot.waitUntil(lambda: f"That was a barcode ({RYE})" in dialog.message.text(), timeout=WAIT_MS)
    assert dialog.amount_field.text() == "", "not a cash amount"
    dialog.reject()
    qtbot.waitUntil(lambda: window.payment_dialog is None, timeout=WAIT_MS)
    assert view.table.rowCount() == 1, "the scan during payment did not ring up"

    assert "Scanner: ready" in view.devices_status.text()
    scanner.unplug()
    qtbot.waitUntil(lambda: "was disconnected; check its cable" in view.devices_status.text(), timeout=WAIT_MS)
    scanner.replug()
    qtbot.waitUntil(lambda: "Scanner: ready" in view.devices_status.text(), timeout=WAIT_MS)
    scanner.scan(RYE, "]E0")
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=WAIT_MS)
