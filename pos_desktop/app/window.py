"""``RegisterWindow``: the login and sale screens, wired to the store server and the lane's devices.

Every slot here runs on the GUI thread: the two bridges queue what the loop thread and the
device threads report. The window decides what each report changes on screen, on the customer
display and on the printer; the presenters hold the state and the rules.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from peripherals.drawer_monitor import DrawerAlert
from peripherals.payment import IntentState, PaymentIntent, PaymentResult, Prompt
from peripherals.printer_status import Health
from pos_core.catalogue import Catalogue, Product
from pos_core.sale import Sale
from pos_desktop.app.controller import LaneController
from pos_desktop.app.device_controller import DeviceController
from pos_desktop.app.device_status import DeviceStatus
from pos_desktop.app.login_presenter import LoginPresenter
from pos_desktop.app.login_view import LoginView
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.payment_dialog import PaymentDialog
from pos_desktop.app.payment_presenter import PaymentPresenter, managers_other_than
from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.app.sale_view import SaleView
from pos_desktop.app.scan_router import ScanRouter
from pos_desktop.lane.card import card_tender
from pos_desktop.lane.client import Authorisation
from pos_desktop.lane.customer_display import due_screen, idle_screen
from pos_desktop.lane.errors import LaneError
from pos_desktop.lane.printing import PrintOutcome
from pos_desktop.lane.session import LaneSession, new_sale_id
from pos_desktop.lane.weighing import Verdict, Weighing
from pos_desktop.lane.wire import Acceptance, Cashier, Welcome

logger = logging.getLogger(__name__)


class RegisterWindow(QMainWindow):
    """Stacks the login screen and, once a cashier is in, the sale screen.

    Args:
        controller: talks to the store server; its bridge feeds this window.
        devices: drives the lane's devices; its bridge feeds this window.
        loop: the loop thread both controllers use; stopped by ``shutdown``.
        register_name: this lane's name on sales and receipts.
    """

    def __init__(
        self, controller: LaneController, devices: DeviceController, loop: LoopThread, *, register_name: str
    ) -> None:
        super().__init__()
        self.controller = controller
        self.devices = devices
        self._loop = loop
        self.register_name = register_name
        lane_devices = devices.devices
        self._printer = (
            ("Receipt printer: ready", True) if lane_devices.printer else ("Receipt printer: none configured", True)
        )
        self.device_status = DeviceStatus([d.name for d in lane_devices.models()], lane_devices.problems)
        self.setWindowTitle(f"Register {register_name}")
        self.resize(1280, 800)

        self.lane: LaneSession | None = None
        self.sale_presenter: SalePresenter | None = None
        self.sale_view: SaleView | None = None
        self.payment_dialog: PaymentDialog | None = None
        self.card_blocked: PaymentIntent | None = None
        """A card payment whose outcome is unknown: no new card payment until it is settled."""
        self._card_sale: tuple[str, int] | None = None  # (sale id, cash beside the card) of the dialog's payment
        self._settled_by: str | None = None  # the manager who authorised settling a card payment by hand
        self._notes: list[tuple[str, bool]] = []  # said before the sale screen existed

        self.scan_router = ScanRouter(self)
        self.login_presenter = LoginPresenter()
        self.login_view = LoginView(self.login_presenter)
        self.login_view.login_requested.connect(self.controller.log_in)
        self.login_view.retry_requested.connect(self._retry)
        self.scan_router.guard(self.login_view, self.login_view.scan_refused)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.login_view)
        self.alert_bar = QLabel("")
        self.alert_bar.setObjectName("alert")
        self.alert_bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.alert_bar.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.alert_bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        bridge = controller.bridge
        bridge.connected.connect(self._connected)
        bridge.connection_failed.connect(self._connection_failed)
        bridge.connection_lost.connect(self._connection_lost)
        bridge.catalogue_loaded.connect(self._catalogue_loaded)
        bridge.catalogue_changed.connect(self._catalogue_changed)
        bridge.catalogue_replaced.connect(self._catalogue_replaced)
        bridge.cashiers_loaded.connect(self._cashiers_loaded)
        bridge.login_succeeded.connect(self._logged_in)
        bridge.login_failed.connect(self._login_failed)
        bridge.sale_committed.connect(self._sale_committed)
        bridge.sale_failed.connect(self._sale_failed)
        bridge.sale_refused.connect(self._sale_refused)
        bridge.relogin_refused.connect(self._relogin_refused)
        bridge.override_authorised.connect(self._override_authorised)
        bridge.override_refused.connect(self._override_refused)
        events = devices.bridge
        events.health_changed.connect(self._health_changed)
        events.device_failed.connect(self._device_failed)
        events.weight_read.connect(self._weight_read)
        events.weighing_failed.connect(self._weighing_failed)
        events.printing_changed.connect(self._printing_changed)
        events.drawer_alerted.connect(self._drawer_alerted)
        events.card_prompted.connect(self._card_prompted)
        events.card_payment_finished.connect(self._card_finished)
        events.card_payment_failed.connect(self._card_failed)
        events.card_payments_settled.connect(self._card_settled)
        events.scanned.connect(self.scan_router.route)  # a serial scanner's codes, like a wedge's

    def start(self) -> None:
        """Connect to the store server, load what the lane needs to sell, and start the devices."""
        self.login_presenter.connecting()
        self.login_view.refresh()
        self.controller.start()
        self.devices.start()

    def shutdown(self) -> None:
        """Close the connection and the devices, then stop the loop thread."""
        if self._loop.loop.is_closed():
            return
        self.controller.shutdown()
        self.devices.shutdown()
        self._loop.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- store server --------------------------------------------------------------------------

    def _retry(self) -> None:
        self.login_presenter.connecting()
        self.login_view.refresh()
        self.controller.start()

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
        self.devices.show(idle_screen(welcome.store.name))
        logger.info("catalogue loaded: %d products", len(catalogue))

    def _catalogue_changed(self, products: list[Product], removed: list[str]) -> None:
        """Prices and products the store changed: the next scan rings them up as they are now
        (lines already in a basket keep the price they were rung up at)."""
        if self.lane is None:
            return
        for product in products:
            self.lane.catalogue.add(product)
        for sku in removed:
            self.lane.catalogue.remove(sku)

    def _catalogue_replaced(self, catalogue: Catalogue) -> None:
        if self.lane is not None:
            self.lane.catalogue = catalogue
            logger.info("catalogue read again: %d products", len(catalogue))

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
        presenter = SalePresenter(
            self.lane,
            printer_text=self._printer[0],
            printer_ok=self._printer[1],
            card_available=self.devices.devices.card is not None,
        )
        presenter.devices_changed(*self.device_status.line())
        for sentence, error in self._notes:
            presenter.show_message(sentence, error=error)
        self.sale_presenter = presenter
        self.sale_view = SaleView(presenter, cashier.name)
        self.sale_view.payment_requested.connect(self._payment_requested)
        self.sale_view.logout_requested.connect(self._log_out)
        self.sale_view.weighing_requested.connect(self._weigh)
        self.sale_view.weighing_cancelled.connect(self.devices.cancel_weighing)
        self.sale_view.basket_changed.connect(self._show_basket)
        self.scan_router.ask(self.sale_view, self.sale_view.take_scan)
        self.stack.addWidget(self.sale_view)
        self.stack.setCurrentWidget(self.sale_view)
        self.sale_view.scan_field.setFocus()

    def _log_out(self) -> None:
        presenter = self.sale_presenter
        if presenter is not None and not presenter.display().can_log_out:
            presenter.log_out_refused()  # the basket of a sale in flight must not pass to the next cashier
            self._refresh_sale()
            return
        self._leave_sale_screen()

    def _relogin_refused(self, sentence: str) -> None:
        """After a reconnect the server would not log the cashier in again: back to the login screen.

        A sale in doubt stays pending in the lane, its basket locked, for the next cashier to send.
        """
        if self.sale_view is None:
            return
        dialog = self.payment_dialog
        if dialog is not None:
            dialog.reject()  # a card payment in progress keeps it open; its result still completes the sale
            if self.payment_dialog is not None:
                return
        self._leave_sale_screen()
        self.login_presenter.login_failed(f"Please log in again: {sentence}")
        self.login_view.refresh()

    def _leave_sale_screen(self) -> None:
        if self.lane is not None:
            self.lane.log_out()
            self.devices.show(idle_screen(self.lane.store.name))
        self.controller.log_out()
        self.devices.cancel_weighing()
        if self.sale_view is not None:
            self.stack.removeWidget(self.sale_view)
            self.sale_view.deleteLater()
        self.sale_view = None
        self.sale_presenter = None
        self.login_view.refresh()
        self.stack.setCurrentWidget(self.login_view)
        self.login_view.setFocus()

    # -- paying --------------------------------------------------------------------------------

    def _payment_requested(self) -> None:
        if self.lane is None or self.sale_presenter is None:
            return
        unsent = self.sale_presenter.unsent_sale()
        if unsent is not None:
            self._send(unsent)
            return
        totals = self.lane.totals()
        presenter = PaymentPresenter(
            totals.total,
            totals.currency,
            card_available=self.devices.devices.card is not None,
            blocked=self.card_blocked,
            approvers=managers_other_than(
                self.login_presenter.display().cashiers, self.lane.cashier.id if self.lane.cashier else None
            ),
        )
        dialog = PaymentDialog(presenter, self)
        self.payment_dialog = dialog
        self._card_sale = None
        dialog.accepted.connect(self._paid)
        dialog.rejected.connect(self._payment_cancelled)
        dialog.card_requested.connect(self._card_requested)
        dialog.card_cancel_requested.connect(self.devices.cancel_card_payment)
        dialog.card_check_requested.connect(self.devices.check_card_payment)
        dialog.card_settle_requested.connect(self._card_settle_by_hand)
        dialog.override_requested.connect(self.controller.authorise_override)
        self.scan_router.guard(dialog.amount_field, self._scan_in_payment)
        self.scan_router.guard(dialog.manager_pin, self._scan_in_payment)  # a scan is no wrong PIN
        self.devices.show(due_screen(totals.total, totals.currency))
        dialog.open()

    def _scan_in_payment(self, code: str) -> None:
        if self.payment_dialog is not None:
            self.payment_dialog.presenter.scan_refused(code)
            self.payment_dialog.refresh()

    def _payment_cancelled(self) -> None:
        dialog, self.payment_dialog = self.payment_dialog, None
        if dialog is not None:
            dialog.deleteLater()
        self._show_basket()

    def _paid(self) -> None:
        dialog, self.payment_dialog = self.payment_dialog, None
        if dialog is None or self.lane is None or self.sale_presenter is None:
            return
        dialog.deleteLater()
        result = dialog.presenter.card_result
        try:
            if result is not None and self._card_sale is not None:
                sale_id, cash = self._card_sale
                sale = self.lane.pay(cash=cash, card=card_tender(result), sale_id=sale_id)
            else:
                tendered = dialog.presenter.tendered()
                if tendered is None:
                    return
                sale = self.lane.pay_cash(tendered)
        except LaneError as exc:
            self.sale_presenter.show_error(str(exc))
            self._refresh_sale()
            return
        self._send(sale)

    def _send(self, sale: Sale) -> None:
        if self.lane is None or self.sale_presenter is None:
            return
        self.sale_presenter.sale_sent(sale)
        self._refresh_sale()
        self.controller.commit_sale(sale)

    def _sale_committed(self, sale: Sale, acceptance: Acceptance) -> None:
        logger.info("sale %s accepted (seq %d, duplicate %s)", sale.id, acceptance.seq, acceptance.duplicate)
        if self.lane is None:
            return
        printer = self.devices.devices.printer
        receipt = self.lane.receipt_rows(sale, printer.layout) if printer else self.lane.receipt_rows(sale)
        self.lane.sale_accepted(sale)  # the basket is emptied even if no sale screen shows it
        if self.sale_presenter is not None:
            self.sale_presenter.sale_committed(sale)
            self._refresh_sale()
            self.devices.show(self.sale_presenter.customer_screen())
        self.devices.print_receipt(receipt, cash=any(t.is_cash for t in sale.tenders))

    def _sale_failed(self, sale: Sale, sentence: str) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.sale_failed(sentence, sale)
            self._refresh_sale()
        elif self.lane is not None:
            self.lane.sale_unanswered(sale)  # still locked for whoever logs in next

    def _sale_refused(self, sale: Sale, code: str, sentence: str) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.sale_refused(sentence, code, sale)
            self._refresh_sale()
        elif self.lane is not None:
            self.lane.sale_refused(sale, code)

    # -- card terminal -------------------------------------------------------------------------

    def _card_requested(self) -> None:
        dialog = self.payment_dialog
        if dialog is None or self.lane is None:
            return
        presenter = dialog.presenter
        sale_id = self._card_sale[0] if self._card_sale else new_sale_id()  # one sale id for every try
        self._card_sale = (sale_id, presenter.cash_beside_card())
        amount = presenter.card_started()
        dialog.refresh()
        self.devices.pay_by_card(amount, presenter.currency, sale_id)

    def _card_prompted(self, prompt: Prompt) -> None:
        if self.payment_dialog is not None:
            self.payment_dialog.presenter.card_prompted(prompt)
            self.payment_dialog.refresh()

    def _card_finished(self, result: PaymentResult) -> None:
        if result.state is IntentState.UNKNOWN:
            self.card_blocked = result.intent
        dialog = self.payment_dialog
        if dialog is None:
            self._note(result.message, not result.approved)
            return
        dialog.presenter.card_finished(result)
        dialog.refresh()
        if dialog.presenter.card_approved:
            dialog.accept()

    def _card_failed(self, sentence: str, blocking: PaymentIntent | None) -> None:
        self.card_blocked = blocking or self.card_blocked
        if self.payment_dialog is not None:
            self.payment_dialog.presenter.card_failed(sentence, blocking)
            self.payment_dialog.refresh()

    def _card_settle_by_hand(self, charged: bool) -> None:
        if self.card_blocked is None:
            return
        cashier = self.lane.cashier.name if self.lane and self.lane.cashier else "unknown cashier"
        manager, self._settled_by = self._settled_by, None
        logger.warning("card payment %s settled by hand as %s, authorised by %s", self.card_blocked.intent_id,
                       charged, manager)  # fmt: skip
        self.devices.settle_card_payment_by_hand(
            self.card_blocked.intent_id,
            charged=charged,
            note=f"checked on the terminal, {cashier} at {self.register_name}, authorised by {manager}",
        )

    def _override_authorised(self, done: Authorisation) -> None:
        self._settled_by = done.manager.name
        if self.payment_dialog is not None:
            self.payment_dialog.approval_granted(done.manager.name)

    def _override_refused(self, sentence: str) -> None:
        if self.payment_dialog is not None:
            self.payment_dialog.approval_refused(sentence)

    def _card_settled(self, results: list[PaymentResult]) -> None:
        for result in results:
            if result.state is IntentState.UNKNOWN:
                self.card_blocked = result.intent
            elif self.card_blocked is not None and result.intent_id == self.card_blocked.intent_id:
                self.card_blocked = None
            dialog = self.payment_dialog
            if dialog is not None:
                dialog.presenter.card_settled(result)
                dialog.refresh()
                if dialog.presenter.card_approved:
                    dialog.accept()
            else:
                self._note(f"Earlier card payment: {result.message}", result.state is not IntentState.CANCELLED)

    # -- devices -------------------------------------------------------------------------------

    def _weigh(self, product: Product) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.weighing_started(self.devices.weigh(product))
            self._refresh_sale()

    def _weight_read(self, weighing: Weighing, verdict: Verdict) -> None:
        if self.sale_presenter is not None and self.sale_presenter.weighed(weighing, verdict) is not None:
            self._show_basket()
        self._refresh_sale()

    def _weighing_failed(self, weighing: Weighing, sentence: str) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.weighing_failed(weighing, sentence)
            self._refresh_sale()

    def _show_basket(self) -> None:
        if self.sale_presenter is not None:
            self.devices.show(self.sale_presenter.customer_screen())

    def _printing_changed(self, outcome: PrintOutcome) -> None:
        self._printer = outcome.status_line()
        if self.sale_presenter is not None:
            self.sale_presenter.printer_changed(*self._printer)
            if outcome.drawer_opened is False:
                self.sale_presenter.show_error(
                    "The cash drawer did not open because the receipt printer is not working; open it with its key."
                )
            self._refresh_sale()

    def _drawer_alerted(self, alert: DrawerAlert) -> None:
        self.alert_bar.setText(alert.message)
        self.alert_bar.setVisible(alert.raised)

    def _health_changed(self, device: str, health: Health) -> None:
        self.device_status.health_changed(device, health)
        self._devices_changed()

    def _device_failed(self, device: str, sentence: str) -> None:
        self.device_status.failed(device, sentence)
        self._devices_changed()

    def _devices_changed(self) -> None:
        if self.sale_presenter is not None:
            self.sale_presenter.devices_changed(*self.device_status.line())
            self._refresh_sale()

    def _note(self, sentence: str, error: bool) -> None:
        """Tell the cashier something that happened outside a payment (e.g. found at start-up)."""
        if self.sale_presenter is None:
            self._notes.append((sentence, error))
        else:
            self.sale_presenter.show_message(sentence, error=error)
            self._refresh_sale()

    def _refresh_sale(self) -> None:
        if self.sale_view is not None:
            self.sale_view.refresh()
