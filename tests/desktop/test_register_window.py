"""The real register window, driven like a cashier would, against a real store server and a file printer."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select, update

from peripherals.escpos_decode import decode_escpos
from pos_core.sale import Sale
from pos_desktop.app.main import create_register
from pos_desktop.app.sale_view import SaleView
from pos_desktop.app.style import STYLESHEET
from pos_desktop.app.window import RegisterWindow
from pos_desktop.lane.errors import ServerUnreachable
from pos_desktop.lane.wire import Acceptance
from store_server.db.engine import open_database
from store_server.db.models import Cashier as CashierRow
from store_server.db.models import ProductRow, SaleRow
from store_server.server import StoreServer
from tests.desktop.conftest import RYE, SOURDOUGH, RunningStore

WAIT_MS = 15_000


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: POS_SCREENSHOT_DIR (e.g. docs/screenshots) or a temp folder."""
    where = Path(os.environ.get("POS_SCREENSHOT_DIR") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def printer(tmp_path: Path) -> str:
    return f"file:{tmp_path / 'receipts.bin'}"


@pytest.fixture
def window(
    qtbot: QtBot, qapp: QApplication, store: RunningStore, printer: str, tmp_path: Path
) -> Iterator[RegisterWindow]:
    qapp.setStyleSheet(STYLESHEET)
    w = create_register(store.url, store.token, printer=printer, register_name="Till 1", data_dir=tmp_path)
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
        scan(qtbot, view, code)
    assert view.table.rowCount() == 2
    assert view.total_label.text() == "€6.38"

    scan(qtbot, view, "4000000000000")
    assert view.message.text() == "No product with barcode 4000000000000; check the number or look it up."
    assert view.table.rowCount() == 2
    assert view.total_label.text() == "€6.38"
    assert view.scan_field.text() == ""
    assert "incl. tax 7% on €6.38" in [w.text() for w in view.findChildren(QLabel) if w.isVisible()]
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
    assert len(receipts) == 1
    assert receipts[0].cut, "the receipt is cut off for the customer"
    assert [k.pin for k in receipts[0].drawer_kicks] == [2], "the drawer opens in the same job"
    assert data[-3:-1] == b"\x1dV", "the job ends with the cut (GS V m)"

    # The next scan clears the change-due panel.
    scan(qtbot, view, SOURDOUGH)
    assert not view.completed.isVisible()
    assert view.table.rowCount() == 1


def log_in(qtbot: QtBot, window: RegisterWindow, name: str = "Alex Morgan", pin: str = "1234") -> SaleView:
    login = window.login_view
    qtbot.waitUntil(lambda: name in [b.text() for b in login.cashier_buttons.values()], timeout=WAIT_MS)
    click(qtbot, next(b for b in login.cashier_buttons.values() if b.text() == name))
    qtbot.keyClicks(login, pin)
    qtbot.keyClick(login, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.sale_view is not None, timeout=WAIT_MS)
    assert window.sale_view is not None
    return window.sale_view


def scan(qtbot: QtBot, view: SaleView, code: str) -> None:
    qtbot.keyClicks(view.scan_field, code)
    qtbot.keyClick(view.scan_field, Qt.Key.Key_Return)


def pay_exact(qtbot: QtBot, window: RegisterWindow, view: SaleView) -> None:
    click(qtbot, view.pay_button)
    dialog = window.payment_dialog
    assert dialog is not None
    click(qtbot, dialog.quick_buttons[0])
    click(qtbot, dialog.confirm_button)


@pytest.fixture
def dead_printer() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp:127.0.0.1:{port}"


def test_a_printer_failure_does_not_lose_the_sale(
    qtbot: QtBot, qapp: QApplication, store: RunningStore, dead_printer: str, tmp_path: Path
) -> None:
    qapp.setStyleSheet(STYLESHEET)
    window = create_register(store.url, store.token, printer=dead_printer, register_name="Till 1", data_dir=tmp_path)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        view = log_in(qtbot, window)
        scan(qtbot, view, SOURDOUGH)
        pay_exact(qtbot, window, view)
        qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "ready" not in view.printer_status.text(), timeout=WAIT_MS)
        assert "Receipt printer: " in view.printer_status.text()
        assert "127.0.0.1" in view.printer_status.text()
        assert view.change_label.text() == "€0.00"
        scan(qtbot, view, RYE)
        assert view.table.rowCount() == 1, "the cashier keeps selling"
    finally:
        window.shutdown()


def test_server_gone_at_payment_keeps_the_basket_and_the_same_sale_is_sent_later(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    port = int(store.url.rsplit(":", 1)[1])
    store.loop.submit(store.server.stop()).result(timeout=30)
    qtbot.waitUntil(lambda: "offline" in view.connection_status.text(), timeout=WAIT_MS)

    pay_exact(qtbot, window, view)
    qtbot.waitUntil(lambda: view.pay_button.text() == "Send sale again", timeout=WAIT_MS)
    assert view.message.text().startswith(f"Cannot reach the store server at ws://127.0.0.1:{port}/register.")
    assert view.table.rowCount() == 1
    assert not view.completed.isVisible()

    again = StoreServer(store.db_url)
    store.loop.submit(again.start("127.0.0.1", port)).result(timeout=30)
    try:
        click(qtbot, view.pay_button)
        qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
        assert view.table.rowCount() == 0
        qtbot.waitUntil(lambda: "connected" in view.connection_status.text(), timeout=WAIT_MS)
    finally:
        window.shutdown()
        store.loop.submit(again.stop()).result(timeout=30)


def stored_sales(store: RunningStore) -> int:
    """How many sales the store server's database holds."""
    db = open_database(store.db_url)
    try:
        with db.write() as session:
            return int(session.scalar(select(func.count()).select_from(SaleRow)) or 0)
    finally:
        db.close()


def test_cash_far_above_the_total_is_refused_and_enter_does_not_confirm_it(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    click(qtbot, view.pay_button)
    dialog = window.payment_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    qtbot.keyClicks(dialog.amount_field, "38900")  # a slip of the finger for 389.00
    assert dialog.message.text() == "That is more cash than this sale can take (at most €503.89); check the amount."
    assert not dialog.confirm_button.isEnabled()
    qtbot.keyClick(dialog.amount_field, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert window.payment_dialog is dialog
    assert view.presenter.busy is False
    dialog.amount_field.setText("503.89")
    assert dialog.confirm_button.isEnabled(), "the total plus €500.00 is still taken"
    qtbot.keyClick(dialog.amount_field, Qt.Key.Key_Return)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert view.change_label.text() == "€500.00"
    assert stored_sales(store) == 1


def test_log_out_is_refused_while_a_sale_is_sent_so_the_basket_is_not_paid_twice(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    assert view.logout_button.isEnabled()
    pay_exact(qtbot, window, view)
    # Still "Sending…": the reply is queued to this thread and not handled before the next wait.
    assert view.message.text() == "Sending the sale to the store server…"
    assert not view.logout_button.isEnabled()
    view.logout_requested.emit()  # even if a tap got through
    assert window.sale_view is view
    assert view.message.text() == "Wait until the store server has the last sale before logging out."

    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert view.table.rowCount() == 0
    assert view.logout_button.isEnabled()
    click(qtbot, view.logout_button)
    assert window.sale_view is None
    sam = log_in(qtbot, window, "Sam Patel", "2468")
    assert sam.table.rowCount() == 0, "the next cashier starts with an empty basket"
    assert not sam.pay_button.isEnabled()
    assert stored_sales(store) == 1


IN_DOUBT = "The store server may not have recorded this sale; send it again to be sure."


def lose_the_answer(monkeypatch: pytest.MonkeyPatch, window: RegisterWindow, store: RunningStore) -> None:
    """The next sale reaches the server and is recorded, then the network goes down before the answer."""
    client = window.controller.client
    real = client.submit_sale
    calls = 0

    async def recorded_then_offline(sale: Sale) -> Acceptance:
        nonlocal calls
        calls += 1
        if calls > 1:
            return await real(sale)
        await client._request({"type": "sale.submit", "sale": sale.to_wire()})  # stored by the server
        await asyncio.wrap_future(store.loop.submit(store.server.stop()))
        raise ServerUnreachable(f"The connection to the store server at {client.url} dropped.")

    monkeypatch.setattr(client, "submit_sale", recorded_then_offline)


def restart(store: RunningStore) -> StoreServer:
    port = int(store.url.rsplit(":", 1)[1])
    again = StoreServer(store.db_url)
    store.loop.submit(again.start("127.0.0.1", port)).result(timeout=30)
    return again


def test_a_sale_whose_answer_was_lost_locks_the_basket_until_the_same_sale_is_sent(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    lose_the_answer(monkeypatch, window, store)
    pay_exact(qtbot, window, view)
    qtbot.waitUntil(lambda: view.pay_button.text() == "Send sale again", timeout=WAIT_MS)
    assert view.message.text().endswith(IN_DOUBT)
    assert stored_sales(store) == 1, "the server has it; the register cannot know"

    scan(qtbot, view, RYE)
    assert view.message.text() == IN_DOUBT
    assert view.table.rowCount() == 1
    assert not view.void_button.isEnabled()
    assert not view.plus_button.isEnabled()
    assert not view.logout_button.isEnabled()
    view.logout_requested.emit()
    assert window.sale_view is view

    again = restart(store)
    try:
        click(qtbot, view.pay_button)
        qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
        assert view.table.rowCount() == 0
        assert view.logout_button.isEnabled()
        assert stored_sales(store) == 1, "the same sale id: recorded once"
    finally:
        window.shutdown()
        store.loop.submit(again.stop()).result(timeout=30)


def test_a_refused_sale_says_why_and_unlocks_the_basket(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    client = window.controller.client
    real = client.submit_sale

    async def tampered_once(sale: Sale) -> Acceptance:
        monkeypatch.setattr(client, "submit_sale", real)
        return await real(replace(sale, total=sale.total + 1))  # its lines no longer add up

    monkeypatch.setattr(client, "submit_sale", tampered_once)
    pay_exact(qtbot, window, view)
    qtbot.waitUntil(lambda: view.message.text().startswith("The store server refused this sale:"), timeout=WAIT_MS)
    assert view.message.text().endswith("It is not recorded; correct the basket and take payment again.")
    assert view.pay_button.text() == "Pay cash"
    assert view.logout_button.isEnabled()
    scan(qtbot, view, RYE)
    assert view.table.rowCount() == 2, "the basket can change again"
    assert stored_sales(store) == 0

    pay_exact(qtbot, window, view)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert stored_sales(store) == 1


def deactivate(store: RunningStore, name: str) -> None:
    db = open_database(store.db_url)
    try:
        with db.write() as session:
            session.execute(update(CashierRow).where(CashierRow.name == name).values(active=False))
    finally:
        db.close()


def test_a_refused_login_after_a_reconnect_returns_to_the_login_screen_keeping_the_sale_locked(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    lose_the_answer(monkeypatch, window, store)
    pay_exact(qtbot, window, view)
    qtbot.waitUntil(lambda: view.pay_button.text() == "Send sale again", timeout=WAIT_MS)
    deactivate(store, "Alex Morgan")

    again = restart(store)  # the register reconnects by itself; Alex's login is refused
    try:
        qtbot.waitUntil(lambda: window.sale_view is None, timeout=WAIT_MS)
        assert window.stack.currentWidget() is window.login_view
        assert window.login_view.message.text() == (
            "Please log in again: Alex Morgan was deactivated by a manager; pick another name."
        )
        assert [b.text() for b in window.login_view.cashier_buttons.values()] == ["Sam Patel"], "Alex is not offered"
        sam = log_in(qtbot, window, "Sam Patel", "2468")
        assert sam.table.rowCount() == 1, "the sale in doubt is still there"
        assert sam.pay_button.text() == "Send sale again"
        assert sam.message.text() == IN_DOUBT
        assert not sam.logout_button.isEnabled()
        scan(qtbot, sam, RYE)
        assert sam.table.rowCount() == 1
        click(qtbot, sam.pay_button)  # Alex's sale, sent again by Sam: taken, as Alex can no longer send it
        qtbot.waitUntil(sam.completed.isVisible, timeout=WAIT_MS)
        assert sam.logout_button.isEnabled()
        assert stored_sales(store) == 1, "the same sale id: recorded once"
    finally:
        window.shutdown()
        store.loop.submit(again.stop()).result(timeout=30)


def test_a_cashier_deactivated_while_logged_in_is_sent_back_to_the_login_screen(
    qtbot: QtBot, window: RegisterWindow, store: RunningStore, shots: Path
) -> None:
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    pay_exact(qtbot, window, view)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    deactivate(store, "Alex Morgan")  # a manager runs `pos store cashier deactivate` in the office

    closed = store.loop.submit(store.server.close_deactivated()).result(timeout=30)  # the server's periodic check
    assert closed == 1
    qtbot.waitUntil(lambda: window.sale_view is None, timeout=WAIT_MS)  # it reconnects; Alex's login is refused
    assert window.stack.currentWidget() is window.login_view
    assert window.login_view.message.text() == (
        "Please log in again: Alex Morgan was deactivated by a manager; pick another name."
    )
    assert [b.text() for b in window.login_view.cashier_buttons.values()] == ["Sam Patel"], "Alex is not offered"
    save(window, shots / "register-cashier-deactivated.png")
    assert stored_sales(store) == 1, "the sale Alex finished stays recorded"
    sam = log_in(qtbot, window, "Sam Patel", "2468")
    assert sam.table.rowCount() == 0


def _change_product(db_url: str, barcode: str, **fields: object) -> str:
    from store_server.usecases.products import ChangeProduct, change_product

    db = open_database(db_url)
    try:
        with db.write() as session:
            sku = session.scalars(select(ProductRow.sku).where(ProductRow.barcode == barcode)).one()
            change_product(session, ChangeProduct(str(uuid.uuid4()), "staff:test", sku, **fields))  # type: ignore[arg-type]
            return sku
    finally:
        db.close()


def test_a_price_changed_at_the_back_office_rings_up_at_the_next_scan_and_a_withdrawn_product_not_at_all(
    qtbot: QtBot, qapp: QApplication, store: RunningStore, printer: str, tmp_path: Path
) -> None:
    w = create_register(
        store.url, store.token, printer=printer, register_name="Till 1", data_dir=tmp_path, catalogue_check_s=0.05
    )
    qtbot.addWidget(w)
    w.show()
    w.start()
    try:
        view = log_in(qtbot, w)
        assert w.lane is not None
        scan(qtbot, view, SOURDOUGH)
        assert view.total_label.text() == "€3.89"

        _change_product(store.db_url, RYE, price=275)  # was 2.49
        _change_product(store.db_url, SOURDOUGH, active=False)
        lane = w.lane
        qtbot.waitUntil(lambda: lane.catalogue.lookup(SOURDOUGH) is None, timeout=WAIT_MS)
        scan(qtbot, view, RYE)
        assert view.total_label.text() == "€6.64"  # 3.89 as rung up before, and rye at its new 2.75
        scan(qtbot, view, SOURDOUGH)
        assert view.message.text().startswith(f"No product with barcode {SOURDOUGH}")
        assert view.total_label.text() == "€6.64"
    finally:
        w.shutdown()
