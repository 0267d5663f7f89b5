"""``SaleView``: scan, see the lines and the total, take payment; the scan field always has focus."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from peripherals.wedge import Scan
from pos_core.catalogue import Product
from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.app.style import ERROR_COLOUR, MUTED_COLOUR, OK_COLOUR, button, card, set_message

COLUMNS = ("Item", "Qty", "Price", "Amount")


class SaleView(QWidget):
    """Emits ``payment_requested`` when the cashier taps Pay, ``logout_requested`` on Log out,
    ``weighing_requested(Product)`` for an item sold by weight, ``weighing_cancelled`` when the
    cashier gives up on it, and ``basket_changed`` after every change the customer should see."""

    payment_requested = Signal()
    logout_requested = Signal()
    weighing_requested = Signal(object)
    weighing_cancelled = Signal()
    basket_changed = Signal()

    MAX_WEIGHED_KEYS = 6

    def __init__(self, presenter: SalePresenter, cashier_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setObjectName("page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        header = QHBoxLayout()
        self.store_label = QLabel(presenter.lane.store.name)
        self.store_label.setObjectName("title")
        self.cashier_label = QLabel(f"Cashier: {cashier_name}")
        self.logout_button = button("Log out")
        self.logout_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.logout_button.setMinimumWidth(160)
        self.logout_button.clicked.connect(self.logout_requested.emit)
        header.addWidget(self.store_label, 1)
        header.addWidget(self.cashier_label)
        header.addSpacing(16)
        header.addWidget(self.logout_button)

        self.scan_field = QLineEdit()
        self.scan_field.setPlaceholderText("Scan a barcode, or type it and press Enter")
        self.scan_field.returnPressed.connect(self._scanned)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(64)  # room for a two-line sentence without pushing the table about
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(52)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(False)
        head = self.table.horizontalHeader()
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item_header = QTableWidgetItem(COLUMNS[0])
        item_header.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setHorizontalHeaderItem(0, item_header)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.weigh_bar = QWidget()
        self.weigh_bar.setObjectName("weighing")
        self.weigh_bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        weigh_layout = QHBoxLayout(self.weigh_bar)
        weigh_layout.setContentsMargins(16, 6, 8, 6)
        self.weighing_label = QLabel("")
        self.weighing_label.setObjectName("weighingText")
        self.cancel_weighing_button = button("Cancel weighing")
        self.cancel_weighing_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.cancel_weighing_button.clicked.connect(self._cancel_weighing)
        weigh_layout.addWidget(self.weighing_label, 1)
        weigh_layout.addWidget(self.cancel_weighing_button)

        self.weighed_keys: dict[str, QPushButton] = {}
        weighed_row = QHBoxLayout()
        weighed_products = presenter.lane.weighed_products()[: self.MAX_WEIGHED_KEYS]
        if weighed_products:
            caption = QLabel("Weigh:")
            caption.setObjectName("muted")
            weighed_row.addWidget(caption)
        for product in weighed_products:
            key = button(product.name.removesuffix(" loose"), "weigh")
            key.setToolTip(f"{product.name}, sold by weight")
            key.clicked.connect(lambda _=False, p=product: self._choose(p))
            weighed_row.addWidget(key)
            self.weighed_keys[product.sku] = key

        line_buttons = QHBoxLayout()
        self.minus_button = button("−  One less")
        self.plus_button = button("+  One more")
        self.void_button = button("Void line", "danger")
        self.minus_button.clicked.connect(lambda: self._edit(lambda: presenter.change_quantity(-1)))
        self.plus_button.clicked.connect(lambda: self._edit(lambda: presenter.change_quantity(+1)))
        self.void_button.clicked.connect(lambda: self._edit(presenter.void_line))
        for b in (self.minus_button, self.plus_button, self.void_button):
            line_buttons.addWidget(b)

        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(self.scan_field)
        left.addLayout(weighed_row)
        left.addWidget(self.weigh_bar)
        left.addWidget(self.message)
        left.addWidget(self.table, 1)
        left.addLayout(line_buttons)

        totals = card()
        totals_layout = QVBoxLayout(totals)
        totals_layout.setContentsMargins(20, 16, 20, 16)
        self.count_label = QLabel("")
        self.count_label.setObjectName("muted")
        self.tax_grid = QGridLayout()
        total_label = QLabel("TOTAL")
        total_label.setObjectName("totalLabel")
        self.total_label = QLabel("")
        self.total_label.setObjectName("total")
        self.total_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        totals_layout.addWidget(self.count_label)
        totals_layout.addLayout(self.tax_grid)
        totals_layout.addWidget(total_label)
        totals_layout.addWidget(self.total_label)

        self.completed = QWidget()
        self.completed.setObjectName("completed")
        self.completed.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        done = QVBoxLayout(self.completed)
        done.setContentsMargins(20, 16, 20, 16)
        change_caption = QLabel("Change due")
        change_caption.setObjectName("totalLabel")
        self.change_label = QLabel("")
        self.change_label.setObjectName("change")
        self.change_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.paid_label = QLabel("")
        self.paid_label.setObjectName("muted")
        self.paid_label.setWordWrap(True)
        done.addWidget(change_caption)
        done.addWidget(self.change_label)
        done.addWidget(self.paid_label)

        self.pay_button = button("Pay cash", "primary")
        self.pay_button.setMinimumHeight(110)
        self.pay_button.clicked.connect(self._pay)

        right = QVBoxLayout()
        right.setSpacing(14)
        right.addWidget(totals)
        right.addWidget(self.completed)
        right.addStretch(1)
        right.addWidget(self.pay_button)

        body = QHBoxLayout()
        body.setSpacing(24)
        body.addLayout(left, 3)
        body.addLayout(right, 2)

        status = QHBoxLayout()
        self.connection_status = QLabel("")
        self.devices_status = QLabel("")
        self.devices_status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.printer_status = QLabel("")
        for label in (self.connection_status, self.devices_status, self.printer_status):
            label.setWordWrap(True)
        self.printer_status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        status.addWidget(self.connection_status, 1)
        status.addWidget(self.devices_status, 1)
        status.addWidget(self.printer_status, 1)

        root = QVBoxLayout(self)
        root.setContentsMargins(24, 16, 24, 12)
        root.setSpacing(12)
        root.addLayout(header)
        root.addLayout(body, 1)
        root.addLayout(status)
        self.refresh()

    def refresh(self) -> None:
        d = self.presenter.display()
        self.table.blockSignals(True)
        self.table.setRowCount(len(d.rows))
        for r, row in enumerate(d.rows):
            for c, text in enumerate((row.name, row.quantity, row.price, row.amount)):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        if d.selected is not None and d.selected < len(d.rows):
            self.table.selectRow(d.selected)
            self.table.scrollTo(self.table.model().index(d.selected, 0))
        else:
            self.table.clearSelection()
        self.table.blockSignals(False)

        self.count_label.setText(d.item_count_text)
        while self.tax_grid.count():
            taken = self.tax_grid.takeAt(0)
            old = taken.widget() if taken is not None else None
            if old is not None:
                old.hide()  # deleteLater waits for the event loop; do not let it show meanwhile
                old.deleteLater()
        for i, (label, amount) in enumerate(d.tax_lines):
            left, right = QLabel(label), QLabel(amount)
            left.setObjectName("muted")
            right.setObjectName("muted")
            right.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.tax_grid.addWidget(left, i, 0)
            self.tax_grid.addWidget(right, i, 1)
            left.show()  # widgets added to an already visible parent stay hidden until shown
            right.show()
        self.total_label.setText(d.total_text)
        set_message(self.message, d.message, error=d.message_is_error)
        self.completed.setVisible(d.completed is not None)
        if d.completed is not None:
            self.change_label.setText(d.completed.change_text)
            self.paid_label.setText(d.completed.paid_text)
        self.pay_button.setEnabled(d.can_pay)
        self.pay_button.setText(d.pay_text)
        for b in (self.minus_button, self.plus_button):
            b.setEnabled(d.can_edit and d.can_change_quantity)
        self.void_button.setEnabled(d.can_edit)
        self.logout_button.setEnabled(d.can_log_out)
        self.weigh_bar.setVisible(d.weighing_text is not None)
        self.weighing_label.setText(d.weighing_text or "")
        _status(self.connection_status, d.connection_text, d.connection_ok)
        self.devices_status.setVisible(bool(d.devices_text))
        _status(self.devices_status, d.devices_text, d.devices_ok)
        _status(self.printer_status, d.printer_text, d.printer_ok)
        self.scan_field.setFocus()

    def _scanned(self) -> None:
        code = self.scan_field.text()
        self.scan_field.clear()
        self._rang_up(self.presenter.scan(code))

    def take_scan(self, scan: Scan) -> None:
        """A scan routed here from a field that must not take it (see ``ScanRouter``)."""
        self._rang_up(self.presenter.scan(scan.data))

    def _choose(self, product: Product) -> None:
        self._rang_up(self.presenter.choose(product))

    def _rang_up(self, to_weigh: Product | None) -> None:
        self.refresh()
        if to_weigh is not None:
            self.weighing_requested.emit(to_weigh)
        else:
            self.weighing_cancelled.emit()  # a scan of anything else ends a weighing that waited
            self.basket_changed.emit()

    def _cancel_weighing(self) -> None:
        self.presenter.cancel_weighing()
        self.refresh()
        self.weighing_cancelled.emit()

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.presenter.select(rows[0].row() if rows else None)
        self.scan_field.setFocus()

    def _edit(self, action: Callable[[], None]) -> None:
        action()
        self.refresh()
        self.basket_changed.emit()

    def _pay(self) -> None:
        if self.presenter.payment_started():
            self.payment_requested.emit()
        else:
            self.refresh()


def _status(label: QLabel, text: str, ok: bool) -> None:
    dot = OK_COLOUR if ok else ERROR_COLOUR
    label.setText(
        f'<span style="color:{dot}">●</span> <span style="color:{MUTED_COLOUR if ok else ERROR_COLOUR}">{text}</span>'
    )
