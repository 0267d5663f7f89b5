"""The register with its lane hardware, end to end: the real window (offscreen) against a real store
server, with the fakes on pseudo-terminals and 127.0.0.1: a Toledo scale, an Epson customer display,
the card terminal simulator, a network receipt printer and a serial cash drawer; a CAS scale streaming."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from peripherals.escpos_decode import DecodedReceipt, decode_escpos
from peripherals.fakes.line_display import FakeLineDisplay
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.fakes.scale import FakeCasScale, FakeScale
from peripherals.fakes.serial_drawer import FakeSerialDrawer
from peripherals.fakes.terminal_simulator import TerminalSimulator
from peripherals.lane_config import (
    DisplaySettings,
    DrawerSettings,
    LaneConfig,
    PrinterSettings,
    ScaleSettings,
    TerminalSettings,
)
from peripherals.payment import UNKNOWN_MESSAGE, IntentKind, IntentState, IntentStore, TerminalTimeouts
from peripherals.scale_codec import ScaleReading, WeightState
from pos_desktop.app.device_controller import DeviceTimings
from pos_desktop.app.main import create_register
from pos_desktop.app.payment_dialog import PaymentDialog
from pos_desktop.app.sale_view import SaleView
from pos_desktop.app.style import STYLESHEET
from pos_desktop.app.window import RegisterWindow
from pos_desktop.lane.weighing import SETTLING
from store_server.db.engine import open_database
from store_server.db.models import Cashier, OverrideRow, SaleTenderRow
from tests.desktop.conftest import RYE, SOURDOUGH, RunningStore
from tests.desktop.test_register_window import click, log_in, save, scan, shots

__all__ = ["shots"]

WAIT_MS = 15_000
BANANAS = "SKU-00382"
"""Bananas loose, €1.69/kg: the demo catalogue's first product sold by weight."""
CHERRY_TOMATOES = "2100007000008"
"""Cherry tomatoes (self-fill punnet), €5.99/kg, weighed net of its 15 g punnet (a preset tare)."""
FAST = DeviceTimings(
    print_retry_s=0.1, weigh_timeout_s=10, weigh_poll_s=0.05, drawer_poll_s=0.05,
    terminal=TerminalTimeouts(connect=1.0, answer=2.0, payment=5.0),
)  # fmt: skip
ONLINE = {1: 0x12, 2: 0x12, 4: 0x12}
"""DLE EOT answers of a printer that is ready: online, cover shut, paper present."""
PAPER_OUT = {**ONLINE, 4: 0x72}


@dataclass
class Fakes:
    scale: FakeScale
    display: FakeLineDisplay
    terminal: TerminalSimulator
    printer: FakeNetworkPrinter

    def lane(self) -> LaneConfig:
        return LaneConfig(
            printer=PrinterSettings(f"tcp:127.0.0.1:{self.printer.port}"),
            scale=ScaleSettings(f"serial:{self.scale.device}"),
            display=DisplaySettings(f"serial:{self.display.device}"),
            terminal=TerminalSettings(f"127.0.0.1:{self.terminal.port}"),
        )


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    made = Fakes(FakeScale("toledo8217"), FakeLineDisplay("epson"), TerminalSimulator(), FakeNetworkPrinter())
    made.printer.status = dict(ONLINE)
    yield made
    for fake in (made.scale, made.display, made.terminal, made.printer):
        fake.close()


Opener = Callable[..., RegisterWindow]


@pytest.fixture
def open_register(qtbot: QtBot, qapp: QApplication, store: RunningStore, tmp_path: Path) -> Iterator[Opener]:
    opened: list[RegisterWindow] = []

    def opener(lane: LaneConfig, timings: DeviceTimings = FAST) -> RegisterWindow:
        qapp.setStyleSheet(STYLESHEET)
        window = create_register(store.url, store.token, register_name="Till 1", data_dir=tmp_path, lane=lane,
                                 timings=timings)  # fmt: skip
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        window.start()
        opened.append(window)
        return window

    yield opener
    for window in opened:
        window.shutdown()


def shows(qtbot: QtBot, display: FakeLineDisplay, upper: str, lower: str) -> None:
    """Wait, with the GUI running, until the customer could read ``upper`` and ``lower``."""
    want = (upper.rstrip(), lower.rstrip())
    qtbot.waitUntil(lambda: tuple(line.rstrip() for line in display.screen()) == want, timeout=WAIT_MS)


def open_payment(qtbot: QtBot, window: RegisterWindow, view: SaleView) -> PaymentDialog:
    click(qtbot, view.pay_button)
    dialog = window.payment_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    return dialog


def ring_up(qtbot: QtBot, window: RegisterWindow, *codes: str) -> tuple[SaleView, PaymentDialog]:
    """Log in, scan ``codes`` and open the payment."""
    view = log_in(qtbot, window)
    for code in codes:
        scan(qtbot, view, code)
    return view, open_payment(qtbot, window, view)


def tenders_stored(store: RunningStore) -> list[tuple[str, int, str | None, str | None, str | None]]:
    db = open_database(store.db_url)
    try:
        with db.read() as s:
            rows = s.scalars(select(SaleTenderRow).order_by(SaleTenderRow.sale_id, SaleTenderRow.tender_no))
            return [(t.kind, t.amount, t.auth_code, t.card_brand, t.last4) for t in rows]
    finally:
        db.close()


def wait_for_receipts(qtbot: QtBot, printer: FakeNetworkPrinter, count: int) -> list[DecodedReceipt]:
    """The printed receipts (cut, with rows), once there are ``count``; status questions do not count."""

    def receipts() -> list[DecodedReceipt]:
        return [r for r in decode_escpos(printer.received()) if r.lines and r.cut]

    qtbot.waitUntil(lambda: len(receipts()) == count, timeout=WAIT_MS)
    return receipts()


# -- weighing --------------------------------------------------------------------------------------


def test_a_weighed_item_waits_for_a_steady_weight_and_shows_on_the_customer_display(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, shots: Path
) -> None:
    window = open_register(fakes.lane())
    view = log_in(qtbot, window)
    fakes.scale.reading = ScaleReading(WeightState.IN_MOTION, 534)

    click(qtbot, view.weighed_keys[BANANAS])
    qtbot.waitUntil(lambda: view.message.text() == SETTLING, timeout=WAIT_MS)
    assert view.weigh_bar.isVisible()
    assert view.weighing_label.text() == "Weighing Bananas loose at €1.69/kg"
    assert view.table.rowCount() == 0, "no sale on an unsteady weight"
    assert not view.pay_button.isEnabled()
    save(window, shots / "weighing.png")

    fakes.scale.reading = ScaleReading(WeightState.UNDER_ZERO)
    qtbot.waitUntil(lambda: "below zero" in view.message.text(), timeout=WAIT_MS)
    assert view.message.text() == "The scale reads below zero; take everything off and zero it."
    fakes.scale.reading = ScaleReading(WeightState.OVER_CAPACITY)
    qtbot.waitUntil(lambda: "more than the scale" in view.message.text(), timeout=WAIT_MS)
    fakes.scale.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
    qtbot.waitUntil(lambda: view.message.text() == "Put the Bananas loose on the scale.", timeout=WAIT_MS)
    assert view.table.rowCount() == 0

    fakes.scale.reading = ScaleReading(WeightState.STABLE, 534)
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT_MS)
    cells = [view.table.item(0, c).text() for c in range(4)]
    assert cells == ["Bananas loose", "0.534 kg", "€1.69/kg", "€0.90"]  # 1.69 x 0.534 = 0.90246
    assert view.message.text() == "Bananas loose  0.534 kg  €0.90"
    assert not view.weigh_bar.isVisible()
    assert not view.plus_button.isEnabled(), "a weighed line is not counted up by one"
    shows(qtbot, fakes.display, "Bananas loose   0.90", "Total       EUR 0.90")

    # Weighing again, then scanning something else instead: the weighing stops, nothing is added.
    fakes.scale.reading = ScaleReading(WeightState.IN_MOTION, 200)
    click(qtbot, view.weighed_keys[BANANAS])
    qtbot.waitUntil(lambda: view.message.text() == SETTLING, timeout=WAIT_MS)
    scan(qtbot, view, SOURDOUGH)
    fakes.scale.reading = ScaleReading(WeightState.STABLE, 200)
    assert not view.weigh_bar.isVisible()
    assert [view.table.item(r, 1).text() for r in range(view.table.rowCount())] == ["0.534 kg", "1"]


def test_a_tared_item_sells_its_net_weight_and_a_reading_lighter_than_its_container_is_refused(
    qtbot: QtBot, open_register: Opener, fakes: Fakes
) -> None:
    window = open_register(fakes.lane())
    view = log_in(qtbot, window)
    fakes.scale.reading = ScaleReading(WeightState.STABLE, 10)  # gross: lighter than the 15 g punnet
    scan(qtbot, view, CHERRY_TOMATOES)
    below = (
        "The scale reads less than the Cherry tomatoes (self-fill punnet)'s 0.015 kg container; "
        "put it on the scale in its container."
    )
    qtbot.waitUntil(lambda: view.message.text() == below, timeout=WAIT_MS)
    assert (
        view.weighing_label.text()
        == "Weighing Cherry tomatoes (self-fill punnet) at €5.99/kg, less its 0.015 kg container"
    )
    assert view.table.rowCount() == 0, "nothing is sold lighter than its container"
    assert not view.pay_button.isEnabled()

    fakes.scale.reading = ScaleReading(WeightState.STABLE, 549)  # gross: 534 g of tomatoes in the punnet
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT_MS)
    cells = [view.table.item(0, c).text() for c in range(4)]
    assert cells == ["Cherry tomatoes (self-fill punnet)", "0.534 kg", "€5.99/kg", "€3.20"]  # 5.99 x 0.534 = 3.19866
    assert view.message.text() == "Cherry tomatoes (self-fill punnet)  0.534 kg net (tare 0.015 kg)  €3.20"

    dialog = open_payment(qtbot, window, view)
    qtbot.keyClicks(dialog.amount_field, "5")
    click(qtbot, dialog.confirm_button)
    (receipt,) = wait_for_receipts(qtbot, fakes.printer, 1)
    assert "  0.534 kg net (tare 0.015 kg) x 5.99/kg" in receipt.texts


def test_a_scale_that_does_not_answer_says_so_and_sells_nothing(
    qtbot: QtBot, open_register: Opener, fakes: Fakes
) -> None:
    window = open_register(fakes.lane())
    view = log_in(qtbot, window)
    fakes.scale.mute = True
    scan(qtbot, view, "2100001000004")  # the bananas' in-store barcode
    qtbot.waitUntil(lambda: "does not answer" in view.message.text(), timeout=WAIT_MS)
    assert (
        view.message.text() == f"The scale on {fakes.scale.device} does not answer; check it is on and its cable is in."
    )
    assert view.table.rowCount() == 0
    qtbot.waitUntil(lambda: view.devices_status.text().count("Scale:") == 1, timeout=WAIT_MS)


def test_a_cas_scale_streaming_its_weight_sells_only_a_steady_one(qtbot: QtBot, open_register: Opener) -> None:
    with FakeCasScale() as cas:
        window = open_register(LaneConfig(scale=ScaleSettings(f"serial:{cas.device}", "cas")))
        view = log_in(qtbot, window)
        cas.reading = ScaleReading(WeightState.IN_MOTION, 412)
        click(qtbot, view.weighed_keys[BANANAS])
        qtbot.waitUntil(lambda: view.message.text() == SETTLING, timeout=WAIT_MS)
        assert view.table.rowCount() == 0, "no sale on an unsteady weight"
        cas.reading = ScaleReading(WeightState.STABLE, 412)
        qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT_MS)
        assert [view.table.item(0, c).text() for c in range(4)] == ["Bananas loose", "0.412 kg", "€1.69/kg", "€0.70"]
        assert "Scale: ready" in view.devices_status.text()


# -- card payments ---------------------------------------------------------------------------------


def test_an_approved_card_payment_completes_the_sale_with_only_brand_last4_and_auth_code(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, store: RunningStore
) -> None:
    window = open_register(fakes.lane())
    view, dialog = ring_up(qtbot, window, SOURDOUGH, RYE)
    assert dialog.card_button.text() == "Pay €6.38 by card"
    shows(qtbot, fakes.display, "Please pay", "Total       EUR 6.38")
    click(qtbot, dialog.card_button)

    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert view.paid_label.text() == "Paid €6.38 by card (VISA ending 4727) for €6.38"
    assert view.table.rowCount() == 0
    shows(qtbot, fakes.display, "Card            6.38", "Thank you!")
    assert tenders_stored(store) == [("card", 638, "SA0001", "VISA", "4727")]
    (receipt,) = wait_for_receipts(qtbot, fakes.printer, 1)
    assert any(t.startswith("Card VISA ending 4727") and t.endswith("6.38") for t in receipt.texts)
    assert "  Auth code SA0001" in receipt.texts
    assert not any(t.startswith("Change") for t in receipt.texts)
    assert receipt.drawer_kicks == [], "a card sale does not open the cash drawer"
    assert fakes.terminal.card.pan not in repr(receipt.texts) + view.paid_label.text()


def test_a_declined_card_keeps_the_basket_and_cash_still_pays(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, store: RunningStore
) -> None:
    fakes.terminal.add_script("decline")
    window = open_register(fakes.lane())
    view, dialog = ring_up(qtbot, window, SOURDOUGH)
    click(qtbot, dialog.card_button)
    qtbot.waitUntil(lambda: "declined" in dialog.message.text(), timeout=WAIT_MS)
    assert dialog.message.text() == "The card was declined (Not authorised); ask for another way to pay."
    assert dialog.isVisible()
    assert dialog.card_button.isEnabled()
    assert view.table.rowCount() == 1
    click(qtbot, dialog.quick_buttons[0])
    click(qtbot, dialog.confirm_button)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert tenders_stored(store) == [("cash", 389, None, None, None)]


def test_card_prompts_show_live_and_cancel_stops_the_payment(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, shots: Path
) -> None:
    fakes.terminal.add_script("timeout")  # the terminal waits for a card that never comes
    window = open_register(fakes.lane())
    view, dialog = ring_up(qtbot, window, SOURDOUGH)
    click(qtbot, dialog.card_button)
    qtbot.waitUntil(
        lambda: dialog.prompt_label.text() == "Ask the customer to insert, tap or swipe their card.", timeout=WAIT_MS
    )
    assert dialog.cancel_card_button.isVisible()
    assert not dialog.confirm_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    assert dialog.amount_field.isReadOnly()
    save(dialog, shots / "payment-card.png")
    click(qtbot, dialog.cancel_card_button)
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text(), timeout=WAIT_MS)
    assert dialog.message.text() == "The card payment of €3.89 was cancelled; no money was taken."
    assert dialog.prompt_label.isHidden()
    assert dialog.cancel_button.isEnabled()
    click(qtbot, dialog.cancel_button)
    assert window.payment_dialog is None
    assert view.table.rowCount() == 1


def test_an_unknown_outcome_blocks_the_card_until_the_terminal_is_asked_again(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, store: RunningStore, shots: Path
) -> None:
    fakes.terminal.add_script("late")  # silent until the register hangs up, then approves
    impatient = replace(FAST, terminal=TerminalTimeouts(connect=1.0, answer=2.0, payment=0.5))
    window = open_register(fakes.lane(), impatient)
    view, dialog = ring_up(qtbot, window, RYE)
    click(qtbot, dialog.card_button)
    qtbot.waitUntil(lambda: dialog.message.text() == UNKNOWN_MESSAGE, timeout=WAIT_MS)
    assert not dialog.card_button.isEnabled(), "no second charge while the first is unknown"
    assert dialog.card_button.isHidden()
    assert dialog.prompt_label.text() == "Look at the terminal: was €2.49 paid?"
    assert not dialog.confirm_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    assert dialog.check_button.isVisible()
    assert dialog.paid_button.isVisible()
    save(dialog, shots / "payment-unknown.png")
    assert window.card_blocked is not None
    fakes.terminal.wait_for_state(window.card_blocked.intent_id, "approved")

    click(qtbot, dialog.check_button)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert window.card_blocked is None
    assert tenders_stored(store) == [("card", 249, "SA0001", "VISA", "4727")]
    assert fakes.terminal.pay_requests(fakes.terminal.requests[0].intent_id) == 1, "charged exactly once"


def test_a_payment_left_unknown_by_a_crash_is_checked_at_start_and_a_manager_can_settle_it(  # noqa: PLR0917 - fixtures
    qtbot: QtBot, open_register: Opener, fakes: Fakes, tmp_path: Path, store: RunningStore, shots: Path
) -> None:
    intents = IntentStore(tmp_path / "payments")  # what a register that crashed mid-payment left behind
    left = intents.create(
        terminal_id=f"tcp:127.0.0.1:{fakes.terminal.port}", kind=IntentKind.PAY, amount=1250, currency="EUR",
        sale_ref="lost-sale",
    )  # fmt: skip
    intents.transition(left.intent_id, IntentState.SENT)
    intents.close()
    window = open_register(fakes.lane())
    qtbot.waitUntil(lambda: window.card_blocked is not None, timeout=WAIT_MS)  # the terminal never heard of it
    view = log_in(qtbot, window)
    assert view.message.text() == f"Earlier card payment: {UNKNOWN_MESSAGE}"
    scan(qtbot, view, SOURDOUGH)
    dialog = open_payment(qtbot, window, view)
    assert not dialog.card_button.isEnabled()
    assert dialog.message.text() == UNKNOWN_MESSAGE
    assert dialog.confirm_button.isEnabled() is False  # nothing typed yet; cash stays possible
    click(qtbot, dialog.unpaid_button)
    # Not settled yet: a manager other than the cashier must authorise it with their PIN.
    assert dialog.approval_box.isVisible()
    assert not dialog.paid_button.isVisible()
    assert dialog.approval_label.text() == "Manager: authorise marking €12.50 as not paid."
    assert [dialog.manager_choice.itemText(i) for i in range(dialog.manager_choice.count())] == ["Sam Patel"]
    assert not dialog.prompt_label.isVisible(), "the manager's question takes the place of the cashier's"
    assert dialog.manager_choice.height() >= 64, "a name a finger can pick"
    assert dialog.message.text() == (
        "A manager must authorise marking €12.50 as not paid: they pick their name, type their PIN on the keypad "
        "and tap Authorise."
    )
    QApplication.processEvents()  # the card box grows to the question, as on the till, before the picture
    save(dialog, shots / "manager-approval.png")
    assert window.card_blocked is not None
    qtbot.keyClicks(dialog.manager_pin, "24")
    wedge_scan(dialog.manager_pin, RYE)  # a scanner fires into the manager's PIN: no attempt is used up
    assert dialog.manager_pin.text() == "24"
    assert dialog.message.text() == f"That was a barcode ({RYE}); finish or cancel the payment before adding items."
    assert overrides_logged(store) == []
    dialog.manager_pin.clear()
    qtbot.keyClicks(dialog.manager_pin, "0000")
    click(qtbot, dialog.authorise_button)
    qtbot.waitUntil(lambda: dialog.message.text() == "That PIN is wrong; try again.", timeout=WAIT_MS)
    assert dialog.manager_pin.text() == ""
    assert window.card_blocked is not None, "a wrong PIN settles nothing"
    assert overrides_logged(store) == []
    # On a touchscreen the payment's keypad types the manager's PIN, not cash.
    assert not key(dialog, ".").isEnabled()
    for digit in "24689":
        click(qtbot, key(dialog, digit))
    click(qtbot, key(dialog, "⌫"))
    assert (dialog.manager_pin.text(), dialog.amount_field.text()) == ("2468", "")
    click(qtbot, dialog.authorise_button)
    qtbot.waitUntil(dialog.card_button.isEnabled, timeout=WAIT_MS)
    assert window.card_blocked is None
    assert "You may take payment again." in dialog.message.text()
    assert not dialog.approval_box.isVisible()
    click(qtbot, key(dialog, "5"))
    assert dialog.amount_field.text() == "5", "the keypad is the cash's again"
    assert overrides_logged(store) == [("card.settle_unpaid", left.intent_id, "Alex Morgan", "Sam Patel")]


def overrides_logged(store: RunningStore) -> list[tuple[str, str, str, str]]:
    db = open_database(store.db_url)
    try:
        with db.read() as s:
            names = {c.id: c.name for c in s.scalars(select(Cashier))}
            return [(o.action, o.subject, names[o.requested_by or ""], names[o.manager_id])
                    for o in s.scalars(select(OverrideRow))]  # fmt: skip
    finally:
        db.close()


def key(dialog: PaymentDialog, label: str) -> QWidget:
    return next(b for b in dialog.key_buttons if b.text() == label)


def test_cash_then_card_for_the_rest_is_one_sale_with_two_tenders(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, store: RunningStore
) -> None:
    window = open_register(fakes.lane())
    view, dialog = ring_up(qtbot, window, SOURDOUGH, RYE)
    qtbot.keyClicks(dialog.amount_field, "2")
    assert dialog.card_button.text() == "Card €4.38 + cash €2.00"
    click(qtbot, dialog.card_button)
    qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    assert view.paid_label.text() == "Paid €4.38 by card (VISA ending 4727) and €2.00 cash for €6.38"
    assert tenders_stored(store) == [("card", 438, "SA0001", "VISA", "4727"), ("cash", 200, None, None, None)]
    (receipt,) = wait_for_receipts(qtbot, fakes.printer, 1)
    assert [k.pin for k in receipt.drawer_kicks] == [2], "cash was taken: the drawer opens with the receipt"


# -- customer display, printing and the drawer -----------------------------------------------------


def test_the_customer_display_follows_the_sale(qtbot: QtBot, open_register: Opener, fakes: Fakes) -> None:
    window = open_register(fakes.lane())
    shows(qtbot, fakes.display, "Welcome to Harbour".center(20).rstrip(), "Street Market".center(20).rstrip())
    view = log_in(qtbot, window)
    scan(qtbot, view, SOURDOUGH)
    shows(qtbot, fakes.display, "Sourdough loaf  3.89", "Total       EUR 3.89")
    scan(qtbot, view, RYE)
    shows(qtbot, fakes.display, "Rye bread 500 g 2.49", "Total       EUR 6.38")
    dialog = open_payment(qtbot, window, view)
    shows(qtbot, fakes.display, "Please pay", "Total       EUR 6.38")
    qtbot.keyClicks(dialog.amount_field, "10")
    click(qtbot, dialog.confirm_button)
    shows(qtbot, fakes.display, "Cash           10.00", "Change          3.62")
    click(qtbot, view.logout_button)
    shows(qtbot, fakes.display, "Welcome to Harbour".center(20).rstrip(), "Street Market".center(20).rstrip())


def test_receipts_wait_while_the_printer_is_off_or_out_of_paper_and_print_in_order_when_it_is_back(
    qtbot: QtBot, open_register: Opener, fakes: Fakes
) -> None:
    window = open_register(fakes.lane())
    view = log_in(qtbot, window)
    port = fakes.printer.port
    fakes.printer.stop()
    for code in (SOURDOUGH, RYE):
        scan(qtbot, view, code)
        dialog = open_payment(qtbot, window, view)
        click(qtbot, dialog.quick_buttons[0])
        click(qtbot, dialog.confirm_button)
        qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "2 receipts wait" in view.printer_status.text(), timeout=WAIT_MS)
    assert (
        f"Receipt printer: The receipt printer at 127.0.0.1:{port} does not answer; check it is on and connected."
        " 2 receipts wait and will print when it is back." in view.printer_status.text()
    )
    assert view.message.text().startswith("The cash drawer did not open because the receipt printer is not working")

    fakes.printer.status = dict(PAPER_OUT)
    fakes.printer.start()  # plugged back in, but the roll is empty
    qtbot.waitUntil(lambda: "out of paper" in view.printer_status.text(), timeout=WAIT_MS)
    assert "The receipt printer is out of paper; load a new roll. 2 receipts wait" in view.printer_status.text()
    assert [r for r in decode_escpos(fakes.printer.received()) if r.lines] == []

    fakes.printer.status = dict(ONLINE)  # a new roll
    qtbot.waitUntil(lambda: view.printer_status.text().endswith("Receipt printer: ready</span>"), timeout=WAIT_MS)
    first, second = wait_for_receipts(qtbot, fakes.printer, 2)
    assert any(t.startswith("Sourdough loaf 750 g") for t in first.texts), "oldest first"
    assert any(t.startswith("Rye bread 500 g") for t in second.texts)
    assert all(r.drawer_kicks == [] for r in decode_escpos(fakes.printer.received())), "no drawer pops open later"


def test_a_drawer_left_open_is_shown_until_it_is_closed(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, tmp_path: Path
) -> None:
    drawer = FakeSerialDrawer()
    try:
        lane = replace(
            fakes.lane(), drawer=DrawerSettings(target=f"serial:{drawer.url}", sensor="cts", alert_after_s=1.0)
        )
        window = open_register(lane)
        view = log_in(qtbot, window)
        scan(qtbot, view, SOURDOUGH)
        dialog = open_payment(qtbot, window, view)
        click(qtbot, dialog.quick_buttons[0])
        click(qtbot, dialog.confirm_button)
        qtbot.waitUntil(lambda: drawer.kicks == 1, timeout=WAIT_MS)
        qtbot.waitUntil(window.alert_bar.isVisible, timeout=WAIT_MS)
        assert window.alert_bar.text() == "The cash drawer has been open for 1 second; close it."
        drawer.shut()
        qtbot.waitUntil(window.alert_bar.isHidden, timeout=WAIT_MS)
    finally:
        drawer.close()


# -- scanner routing -------------------------------------------------------------------------------

_CLOCK = itertools.count(1_000_000, 10_000)


def wedge_scan(widget: QWidget, code: str) -> None:
    """Key presses as a USB wedge scanner sends them: 5 ms apart, with timestamps, then Enter."""
    start = next(_CLOCK)
    keys = [(Qt.Key(ord(ch)), ch) for ch in code] + [(Qt.Key.Key_Return, "\r")]
    for i, (key, text) in enumerate(keys):
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text)
            event.setTimestamp(start + 5 * i)
            QApplication.sendEvent(widget, event)


def test_a_scan_never_lands_in_the_pin_pad_or_the_cash_amount(
    qtbot: QtBot, open_register: Opener, fakes: Fakes
) -> None:
    window = open_register(fakes.lane())
    login = window.login_view
    qtbot.waitUntil(lambda: len(login.cashier_buttons) == 2, timeout=WAIT_MS)
    click(qtbot, next(b for b in login.cashier_buttons.values() if b.text() == "Alex Morgan"))
    qtbot.keyClicks(login, "12")  # the cashier starts typing the PIN, then a scanner fires
    wedge_scan(login, SOURDOUGH)
    assert login.pin_mask.text() == "●●", "the barcode is taken back out of the PIN"
    assert login.message.text() == "That was a barcode; log in first, then scan."
    assert window.sale_view is None
    qtbot.keyClicks(login, "34")
    qtbot.keyClick(login, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.sale_view is not None, timeout=WAIT_MS)
    view = window.sale_view
    assert view is not None

    wedge_scan(view.scan_field, SOURDOUGH)  # the sale screen asked for scans: it takes them
    assert view.table.rowCount() == 1
    dialog = open_payment(qtbot, window, view)
    qtbot.keyClicks(dialog.amount_field, "5")
    wedge_scan(dialog.amount_field, RYE)
    assert dialog.amount_field.text() == "5"
    assert dialog.isVisible(), "the scanner's Enter did not confirm the payment"
    assert dialog.message.text() == f"That was a barcode ({RYE}); finish or cancel the payment before adding items."
    assert view.table.rowCount() == 1


def test_a_58mm_lane_prints_32_column_receipts_and_says_its_logo_is_missing(
    qtbot: QtBot, open_register: Opener, fakes: Fakes, tmp_path: Path
) -> None:
    printer = PrinterSettings(f"tcp:127.0.0.1:{fakes.printer.port}", profile="generic-58mm", logo="shop-logo.png")
    window = open_register(replace(fakes.lane(), printer=printer))
    view = log_in(qtbot, window)
    missing = f"The receipt logo {tmp_path / 'shop-logo.png'} does not exist; receipts print without it"
    assert missing in view.devices_status.text()
    scan(qtbot, view, SOURDOUGH)
    dialog = open_payment(qtbot, window, view)
    click(qtbot, dialog.quick_buttons[0])
    click(qtbot, dialog.confirm_button)
    (receipt,) = wait_for_receipts(qtbot, fakes.printer, 1)
    assert receipt.images == []
    assert "-" * 32 in receipt.texts
    assert all(len(line.text) * (2 if line.big else 1) <= 32 for line in receipt.lines if not line.qr)
    assert any(t.startswith("Sourdough loaf 750 g") and len(t) == 32 for t in receipt.texts)
    assert len(receipt.qr_codes) == 1
