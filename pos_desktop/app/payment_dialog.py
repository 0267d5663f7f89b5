"""``PaymentDialog``: cash tendered with quick-cash buttons, a keypad and the change shown large;
and, when the lane has a card terminal, "Pay by card" with the terminal's prompts live."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_desktop.app.payment_presenter import ApprovalDisplay, PaymentPresenter
from pos_desktop.app.style import button, card, set_message

KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", ".")


class PaymentDialog(QDialog):
    """Accepted when the cash covers the total (``presenter.tendered()`` holds it) or a card payment
    was approved (``presenter.card_result``). The card buttons emit requests; the window runs them."""

    card_requested = Signal()
    card_cancel_requested = Signal()
    card_check_requested = Signal()
    card_settle_requested = Signal(bool)
    """A manager authorised it. True: the terminal's journal shows the payment went through; False: it did not."""
    override_requested = Signal(object)
    """``OverrideRequest``: ask the store server to check a manager's PIN for settling by hand."""

    def __init__(self, presenter: PaymentPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setWindowTitle("Payment")
        self.setModal(True)
        self.setMinimumWidth(1120 if presenter.card_available else 860)

        due = card()
        due_layout = QHBoxLayout(due)
        due_layout.setContentsMargins(20, 8, 20, 8)
        due_caption = QLabel("Total due")
        due_caption.setObjectName("totalLabel")
        self.total_label = QLabel("")
        self.total_label.setObjectName("total")
        self.total_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        due_layout.addWidget(due_caption)
        due_layout.addWidget(self.total_label, 1)

        tendered_caption = QLabel("Cash handed over")
        tendered_caption.setObjectName("muted")
        self.amount_field = QLineEdit()
        self.amount_field.setPlaceholderText("0.00")
        self.amount_field.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount_field.textChanged.connect(self._typed)
        self.amount_field.returnPressed.connect(self.confirm)

        quick = QHBoxLayout()
        self.quick_buttons: list[QPushButton] = []
        for i, amount in enumerate(presenter.quick_amounts()):
            text = f"Exact {presenter.amount_text(amount)}" if i == 0 else presenter.amount_text(amount)
            b = button(text)
            b.clicked.connect(lambda _=False, a=amount: self.amount_field.setText(presenter.plain_text(a)))
            quick.addWidget(b)
            self.quick_buttons.append(b)

        keypad = QGridLayout()
        keypad.setSpacing(6)
        self.key_buttons: list[QPushButton] = []
        for i, key in enumerate(KEYS):
            b = button(key, "padkey")
            b.clicked.connect(lambda _=False, k=key: self._keyed().insert(k))
            keypad.addWidget(b, i // 3, i % 3)
            self.key_buttons.append(b)
        back = button("⌫", "padkey")
        back.clicked.connect(lambda: self._keyed().backspace())
        clear = button("Clear", "padkey")
        clear.clicked.connect(lambda: self._keyed().clear())
        keypad.addWidget(back, 0, 3)
        keypad.addWidget(clear, 1, 3)
        self.key_buttons += [back, clear]

        change_box = card()
        change_layout = QHBoxLayout(change_box)
        change_layout.setContentsMargins(20, 8, 20, 8)
        self.change_caption = QLabel("Change")
        self.change_caption.setObjectName("totalLabel")
        self.change_label = QLabel("")
        self.change_label.setObjectName("change")
        self.change_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        change_layout.addWidget(self.change_caption)
        change_layout.addWidget(self.change_label, 1)

        figures = QHBoxLayout()
        figures.setSpacing(20)
        figures.addWidget(due, 1)
        figures.addWidget(change_box, 1)

        cash = QVBoxLayout()
        cash.setSpacing(10)
        cash.addWidget(tendered_caption)
        cash.addWidget(self.amount_field)
        cash.addLayout(quick)
        cash.addLayout(keypad)

        self.card_box = self._card_box()
        self.card_box.setVisible(presenter.card_available)

        columns = QHBoxLayout()
        columns.setSpacing(20)
        columns.addLayout(cash, 3)
        columns.addWidget(self.card_box, 2, Qt.AlignmentFlag.AlignTop)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(52)

        actions = QHBoxLayout()
        self.cancel_button = button("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.confirm_button = button("Confirm cash payment", "primary")
        self.confirm_button.clicked.connect(self.confirm)
        actions.addWidget(self.cancel_button, 1)
        actions.addWidget(self.confirm_button, 2)

        root = QVBoxLayout(self)
        root.setContentsMargins(24, 16, 24, 16)
        root.setSpacing(12)
        root.addLayout(figures)
        root.addLayout(columns)
        root.addWidget(self.message)
        root.addLayout(actions)
        self.amount_field.setFocus()
        self.refresh()

    def _card_box(self) -> QWidget:
        box = card()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(20, 12, 20, 12)
        layout.setSpacing(10)
        caption = QLabel("Card")
        caption.setObjectName("totalLabel")
        self.card_button = button("Pay by card", "primary")
        self.card_button.setMinimumHeight(80)
        self.card_button.clicked.connect(self.card_requested.emit)
        self.prompt_label = QLabel("")
        self.prompt_label.setObjectName("prompt")
        self.prompt_label.setWordWrap(True)
        self.cancel_card_button = button("Cancel card payment", "danger")
        self.cancel_card_button.clicked.connect(self.card_cancel_requested.emit)
        self.check_button = button("Ask the terminal again")
        self.check_button.clicked.connect(self.card_check_requested.emit)
        self.settle_caption = QLabel("Or, after a manager checked the terminal's own list of payments:")
        self.settle_caption.setObjectName("muted")
        self.settle_caption.setWordWrap(True)
        self.paid_button = button("It was paid")
        self.paid_button.clicked.connect(lambda: self._settle(True))
        self.unpaid_button = button("It was not paid")
        self.unpaid_button.clicked.connect(lambda: self._settle(False))
        settle = QHBoxLayout()
        settle.addWidget(self.paid_button)
        settle.addWidget(self.unpaid_button)
        for widget in (caption, self.card_button, self.prompt_label, self.cancel_card_button, self.check_button):
            layout.addWidget(widget)
        layout.addWidget(self.settle_caption)
        layout.addLayout(settle)
        layout.addWidget(self._approval_box())
        return box

    def _approval_box(self) -> QWidget:
        """The manager's name and PIN, shown once the cashier said what the terminal showed."""
        self.approval_box = QWidget()
        layout = QVBoxLayout(self.approval_box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.approval_label = QLabel("")
        self.approval_label.setObjectName("approvalQuestion")  # what the manager is asked, where the card's prompt was
        self.approval_label.setWordWrap(True)
        name_caption = QLabel("Manager's name")
        name_caption.setObjectName("muted")
        self.manager_choice = QComboBox()
        self.manager_choice.setObjectName("managerChoice")
        self.manager_choice.setView(QListView())  # a plain list view, so its rows take the touch-sized style
        self.manager_pin = QLineEdit()
        self.manager_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.manager_pin.setPlaceholderText("Manager's PIN (keypad)")
        self.manager_pin.setMaxLength(12)
        self.manager_pin.returnPressed.connect(self._authorise)
        self.authorise_button = button("Authorise", "primary")
        self.authorise_button.clicked.connect(self._authorise)
        self.back_button = button("Back")
        self.back_button.clicked.connect(self._approval_back)
        actions = QHBoxLayout()
        actions.addWidget(self.back_button)
        actions.addWidget(self.authorise_button)
        for widget in (self.approval_label, name_caption, self.manager_choice, self.manager_pin):
            layout.addWidget(widget)
        layout.addLayout(actions)
        self.approval_box.hide()
        return self.approval_box

    def _settle(self, charged: bool) -> None:
        self.presenter.settle_requested(charged)
        self.manager_pin.clear()
        self.refresh()
        self.manager_pin.setFocus()

    def _authorise(self) -> None:
        request = self.presenter.approval_request(str(self.manager_choice.currentData() or ""), self.manager_pin.text())
        self.manager_pin.clear()  # the PIN leaves the screen at once; a refusal asks for it again
        self.refresh()
        if request is not None:
            self.override_requested.emit(request)

    def _approval_back(self) -> None:
        self.presenter.approval_cancelled()
        self.manager_pin.clear()
        self.refresh()

    def approval_granted(self, manager_name: str) -> None:
        """The store server accepted the manager's PIN: settle the payment as the cashier said."""
        charged = self.presenter.approval_granted(manager_name)
        self.refresh()
        if charged is not None:
            self.card_settle_requested.emit(charged)

    def approval_refused(self, sentence: str) -> None:
        self.presenter.approval_refused(sentence)
        self.refresh()
        self.manager_pin.setFocus()

    def refresh(self) -> None:
        d = self.presenter.display()
        self.total_label.setText(d.total_text)
        self.change_caption.setText(d.change_label)
        self.change_label.setText(d.change_text)
        self.change_label.setObjectName("change" if d.change_label == "Change" else "changeShort")
        self.change_label.style().unpolish(self.change_label)
        self.change_label.style().polish(self.change_label)
        set_message(self.message, d.message, error=d.message_is_error)
        self.confirm_button.setEnabled(d.can_confirm)
        self.cancel_button.setEnabled(d.can_close)
        c = d.card
        pin_pad = self._pin_pad_on(d.card.approval)
        self.amount_field.setReadOnly(not d.can_type_cash or pin_pad)
        for b in self.quick_buttons:
            b.setEnabled(d.can_type_cash and not pin_pad)
        for key, b in zip((*KEYS, "⌫", "Clear"), self.key_buttons, strict=True):
            b.setEnabled(key not in (".", "00") if pin_pad else d.can_type_cash)
        self.card_button.setText(c.button_text)
        self.card_button.setEnabled(c.can_start)
        self.card_button.setHidden(c.can_check or c.approval is not None)  # first settle the payment in doubt
        self.prompt_label.setText(c.prompt)
        self.prompt_label.setVisible(bool(c.prompt))
        self.cancel_card_button.setVisible(c.can_cancel)
        self.check_button.setVisible(c.can_check)
        for widget in (self.settle_caption, self.paid_button, self.unpaid_button):
            widget.setVisible(c.can_settle)
        self._show_approval(c.approval)

    def _show_approval(self, approval: ApprovalDisplay | None) -> None:
        self.approval_box.setVisible(approval is not None)
        if approval is None:
            return
        self.approval_label.setText(approval.question)
        ids = [self.manager_choice.itemData(i) for i in range(self.manager_choice.count())]
        if ids != [m.id for m in approval.managers]:
            self.manager_choice.clear()
            for manager in approval.managers:
                self.manager_choice.addItem(manager.name, manager.id)
        for widget in (self.manager_choice, self.manager_pin, self.authorise_button, self.back_button):
            widget.setEnabled(approval.can_send)

    @staticmethod
    def _pin_pad_on(approval: ApprovalDisplay | None) -> bool:
        """While a manager is asked, the keypad types their PIN: a touchscreen has no other keys."""
        return approval is not None and approval.can_send

    def _keyed(self) -> QLineEdit:
        """The field the keypad types into: the manager's PIN while one is asked, else the cash."""
        return self.manager_pin if self._pin_pad_on(self.presenter.display().card.approval) else self.amount_field

    def confirm(self) -> None:
        if self.presenter.display().can_confirm:
            self.accept()

    def reject(self) -> None:
        if self.presenter.display().can_close:  # never walk away from a card payment in progress
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.presenter.display().can_close:
            super().closeEvent(event)
        else:
            event.ignore()

    def _typed(self, text: str) -> None:
        self.presenter.set_text(text)
        self.refresh()
