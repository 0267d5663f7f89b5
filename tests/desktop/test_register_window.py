"""The real register window, driven like a cashier would, against a real store server and a file printer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from peripherals.escpos_decode import decode_escpos
from pos_desktop.app.main import create_register
from pos_desktop.app.style import STYLESHEET
from pos_desktop.app.window import RegisterWindow
from tests.desktop.conftest import RYE, SOURDOUGH, RunningStore

WAIT_MS = 15_000


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: POS_SCREENSHOT_DIR (e.g. docs/screenshots) or a temp folder."""
    where = Path(os.environ.get("POS_SCREENSHOT_DIR") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def window(qtbot: QtBot, qapp: QApplication, store: RunningStore, tmp_path: Path) -> Iterator[RegisterWindow]:
    qapp.setStyleSheet(STYLESHEET)
    w = create_register(store.url, store.token, printer=f"file:{tmp_path / 'receipts.bin'}", register_name="Till 1")
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    w.start()
    yield w
    w.shutdown()


def save(widget: QWidget, path: Path) -> None:
    assert widget.grab().save(str(path)), f"could not write {path}"


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_cashier_logs_in_rings_up_pays_and_gets_a_receipt(
    qtbot: QtBot, window: RegisterWindow, tmp_path: Path, shots: Path
) -> None:
    login = window.login_view
    qtbot.waitUntil(lambda: len(login.cashier_buttons) == 2, timeout=WAIT_MS)
    alex = next(b for b in login.cashier_buttons.values() if b.text() == "Alex Morgan")
    click(qtbot, alex)

    # A wrong PIN typed on the keyboard: the server's sentence shows and nobody is logged in.
    qtbot.keyClicks(login, "9999")
    assert login.pin_mask.text() == "●●●●"
    qtbot.keyClick(login, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.login_presenter.display().message_is_error, timeout=WAIT_MS)
    assert "PIN" in login.message.text()
    assert window.stack.currentWidget() is login
    assert window.sale_view is None

    for digit in "12":
        click(qtbot, login.digit_buttons[digit])
    save(window, shots / "login.png")
    for digit in "34":
        click(qtbot, login.digit_buttons[digit])
    click(qtbot, login.submit_button)
    qtbot.waitUntil(lambda: window.sale_view is not None, timeout=WAIT_MS)
    view = window.sale_view
    assert view is not None
    assert window.stack.currentWidget() is view
    assert view.scan_field.hasFocus() or not window.isActiveWindow()

    for code in (SOURDOUGH, RYE):
        qtbot.keyClicks(view.scan_field, code)
        qtbot.keyClick(view.scan_field, Qt.Key.Key_Return)
    assert view.table.rowCount() == 2
    assert view.total_label.text() == "€6.38"

    qtbot.keyClicks(view.scan_field, "4000000000000")
    qtbot.keyClick(view.scan_field, Qt.Key.Key_Return)
    assert view.message.text() == "No product with barcode 4000000000000; check the number or look it up."
    assert view.table.rowCount() == 2
    assert view.total_label.text() == "€6.38"
    assert view.scan_field.text() == ""
    save(window, shots / "sale.png")

    click(qtbot, view.pay_button)
    dialog = window.payment_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.total_label.text() == "€6.38"
    qtbot.keyClicks(dialog.amount_field, "5")
    assert dialog.change_label.text() == "€1.38 short"
    assert not dialog.confirm_button.isEnabled()
    dialog.amount_field.clear()
    click(qtbot, dialog.quick_buttons[-1])
    assert dialog.amount_field.text() == "20.00"
    assert dialog.change_label.text() == "€13.62"
    save(dialog, shots / "payment.png")
    click(qtbot, dialog.confirm_button)

    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert view.change_label.text() == "€13.62"
    assert view.table.rowCount() == 0

    receipt_file = tmp_path / "receipts.bin"

    def printed() -> bool:
        return receipt_file.exists() and any(r.drawer_kicks for r in decode_escpos(receipt_file.read_bytes()))

    qtbot.waitUntil(printed, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "ready" in view.printer_status.text(), timeout=WAIT_MS)
    save(window, shots / "done.png")

    data = receipt_file.read_bytes()
    receipts = decode_escpos(data)
    text = "\n".join("\n".join(r.texts) for r in receipts)
    assert "Sourdough loaf 750 g" in text
    assert "Rye bread 500 g" in text
    assert "6.38" in text
    assert receipts[0].cut, "the receipt is cut before the drawer opens"
    assert receipts[-1].drawer_kicks, "the drawer opens last"
    assert data.endswith(b"\x1bp\x00" + data[-2:]), "the last command is the drawer kick (ESC p 0 t1 t2)"

    # The next scan clears the change-due panel.
    qtbot.keyClicks(view.scan_field, SOURDOUGH)
    qtbot.keyClick(view.scan_field, Qt.Key.Key_Return)
    assert not view.completed.isVisible()
    assert view.table.rowCount() == 1
