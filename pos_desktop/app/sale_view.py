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
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.app.style import ERROR_COLOUR, MUTED_COLOUR, OK_COLOUR, button, card, set_message

COLUMNS = ("Item", "Qty", "Price", "Amount")


class SaleView(QWidget):
    """Emits ``payment_requested`` when the cashier taps Pay cash, ``logout_requested`` on Log out."""

    payment_requested = Signal()
    logout_requested = Signal()

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
        self.printer_status = QLabel("")
        status.addWidget(self.connection_status, 1)
        status.addWidget(self.printer_status, 1, Qt.AlignmentFlag.AlignRight)

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
        for b in (self.minus_button, self.plus_button, self.void_button):
            b.setEnabled(d.can_edit)
        _status(self.connection_status, d.connection_text, d.connection_ok)
        _status(self.printer_status, d.printer_text, d.printer_ok)
        self.scan_field.setFocus()

    def _scanned(self) -> None:
        code = self.scan_field.text()
        self.scan_field.clear()
        self.presenter.scan(code)
        self.refresh()

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.presenter.select(rows[0].row() if rows else None)
        self.scan_field.setFocus()

    def _edit(self, action: Callable[[], None]) -> None:
        action()
        self.refresh()

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
