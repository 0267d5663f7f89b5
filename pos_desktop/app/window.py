"""``RegisterWindow``: the login and sale screens, wired to the lane through the bridge."""

from __future__ import annotations

import logging

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget

from pos_core.catalogue import Catalogue
from pos_core.sale import Sale
from pos_desktop.app.controller import LaneController
from pos_desktop.app.login_presenter import LoginPresenter
from pos_desktop.app.login_view import LoginView
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.payment_dialog import PaymentDialog
from pos_desktop.app.payment_presenter import PaymentPresenter
from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.app.sale_view import SaleView
from pos_desktop.lane.errors import LaneError
from pos_desktop.lane.session import LaneSession
from pos_desktop.lane.wire import Acceptance, Cashier, Welcome

logger = logging.getLogger(__name__)


class RegisterWindow(QMainWindow):
    """Stacks the login screen and, once a cashier is in, the sale screen.

    Args:
        controller: runs the lane's network and printer work; its bridge feeds this window.
        loop: the loop thread the controller uses; stopped by ``shutdown``.
        register_name: this lane's name on sales and receipts.
        printer_text: the printer's state for the status line before the first receipt.
    """

    def __init__(self, controller: LaneController, loop: LoopThread, *, register_name: str, printer_text: str) -> None:
        super().__init__()
        self.controller = controller
        self._loop = loop
        self.register_name = register_name
        self._printer = (printer_text, True)
        self.setWindowTitle(f"Register {register_name}")
        self.resize(1280, 800)

        self.lane: LaneSession | None = None
        self.sale_presenter: SalePresenter | None = None
        self.sale_view: SaleView | None = None
        self.payment_dialog: PaymentDialog | None = None

        self.login_presenter = LoginPresenter()
        self.login_view = LoginView(self.login_presenter)
        self.login_view.login_requested.connect(self.controller.log_in)
        self.login_view.retry_requested.connect(self._retry)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.login_view)
        self.setCentralWidget(self.stack)

        bridge = controller.bridge
        bridge.connected.connect(self._connected)
        bridge.connection_failed.connect(self._connection_failed)
        bridge.connection_lost.connect(self._connection_lost)
        bridge.catalogue_loaded.connect(self._catalogue_loaded)
        bridge.cashiers_loaded.connect(self._cashiers_loaded)
        bridge.login_succeeded.connect(self._logged_in)
        bridge.login_failed.connect(self._login_failed)
        bridge.sale_committed.connect(self._sale_committed)
        bridge.sale_failed.connect(self._sale_failed)
        bridge.receipt_printed.connect(self._receipt_printed)
        bridge.printer_failed.connect(self._printer_failed)

    def start(self) -> None:
        """Connect to the store server and load what the lane needs to sell."""
        self.login_presenter.connecting()
        self.login_view.refresh()
        self.controller.start()

    def shutdown(self) -> None:
        """Close the connection and the printer, then stop the loop thread."""
        if self._loop.loop.is_closed():
            return
        self.controller.shutdown()
        self._loop.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # Bridge slots: all run on the GUI thread.

    def _retry(self) -> None:
        self.start()

    def _connected(self, welcome: Welcome) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.connection_changed(f"Store server: connected to {welcome.store.name}", True)
            self._refresh_sale()

    def _connection_failed(self, sentence: str) -> None:
        self.login_presenter.connection_failed(sentence)
        self.login_view.refresh()

    def _connection_lost(self, sentence: str) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.connection_changed(f"Store server: offline. {sentence} Reconnecting…", False)
            self._refresh_sale()

    def _catalogue_loaded(self, welcome: Welcome, catalogue: Catalogue) -> None:
        self.lane = LaneSession(welcome, catalogue, self.register_name)
        self.login_view.set_store_name(welcome.store.name)
        logger.info("catalogue loaded: %d products", len(catalogue))

    def _cashiers_loaded(self, cashiers: list[Cashier]) -> None:
        self.login_presenter.set_cashiers(cashiers)
        self.login_view.refresh()

    def _login_failed(self, sentence: str) -> None:
        self.login_presenter.login_failed(sentence)
        self.login_view.refresh()

    def _logged_in(self, cashier: Cashier) -> None:
        if self.lane is None:
            return
        self.lane.log_in(cashier)
        self.login_presenter.logged_out()
        self.sale_presenter = SalePresenter(self.lane, printer_text=self._printer[0], printer_ok=self._printer[1])
        self.sale_view = SaleView(self.sale_presenter, cashier.name)
        self.sale_view.payment_requested.connect(self._payment_requested)
        self.sale_view.logout_requested.connect(self._log_out)
        self.stack.addWidget(self.sale_view)
        self.stack.setCurrentWidget(self.sale_view)
        self.sale_view.scan_field.setFocus()

    def _log_out(self) -> None:
        if self.lane is not None:
            self.lane.log_out()
        self.controller.log_out()
        if self.sale_view is not None:
            self.stack.removeWidget(self.sale_view)
            self.sale_view.deleteLater()
        self.sale_view = None
        self.sale_presenter = None
        self.login_view.refresh()
        self.stack.setCurrentWidget(self.login_view)
        self.login_view.setFocus()

    def _payment_requested(self) -> None:
        if self.lane is None or self.sale_presenter is None:
            return
        unsent = self.sale_presenter.unsent_sale()
        if unsent is not None:
            self._send(unsent)
            return
        totals = self.lane.totals()
        self.payment_dialog = PaymentDialog(PaymentPresenter(totals.total, totals.currency), self)
        self.payment_dialog.accepted.connect(self._paid)
        self.payment_dialog.open()

    def _paid(self) -> None:
        dialog, self.payment_dialog = self.payment_dialog, None
        if dialog is None or self.lane is None or self.sale_presenter is None:
            return
        tendered = dialog.presenter.tendered()
        dialog.deleteLater()
        if tendered is None:
            return
        try:
            sale = self.lane.pay_cash(tendered)
        except LaneError as exc:
            self.sale_presenter.show_error(str(exc))
            self._refresh_sale()
            return
        self._send(sale)

    def _send(self, sale: Sale) -> None:
        if self.lane is None or self.sale_presenter is None:
            return
        self.sale_presenter.sale_sent()
        self._refresh_sale()
        self.controller.commit_sale(sale, self.lane.receipt_rows(sale))

    def _sale_committed(self, sale: Sale, acceptance: Acceptance) -> None:
        logger.info("sale %s accepted (seq %d, duplicate %s)", sale.id, acceptance.seq, acceptance.duplicate)
        if self.sale_presenter is not None:
            self.sale_presenter.sale_committed(sale)
            self._refresh_sale()

    def _sale_failed(self, sale: Sale, sentence: str) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.sale_failed(sentence, sale)
            self._refresh_sale()

    def _receipt_printed(self, sale_id: str) -> None:
        self._printer_state("Receipt printer: ready", True)

    def _printer_failed(self, sentence: str) -> None:
        self._printer_state(f"Receipt printer: {sentence}", False)

    def _printer_state(self, text: str, ok: bool) -> None:
        self._printer = (text, ok)
        if self.sale_presenter is not None:
            self.sale_presenter.printer_changed(text, ok)
            self._refresh_sale()

    def _refresh_sale(self) -> None:
        if self.sale_view is not None:
            self.sale_view.refresh()
