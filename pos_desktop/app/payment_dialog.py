"""``PaymentDialog``: cash tendered, with quick-cash buttons, a keypad and the change shown large."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from pos_desktop.app.payment_presenter import PaymentPresenter
from pos_desktop.app.style import button, card, set_message

KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", ".")


class PaymentDialog(QDialog):
    """Accepted when the cash covers the total; ``presenter.tendered()`` then holds the amount."""

    def __init__(self, presenter: PaymentPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setWindowTitle("Cash payment")
        self.setModal(True)
        self.setMinimumWidth(760)

        due = card()
        due_layout = QHBoxLayout(due)
        due_layout.setContentsMargins(20, 12, 20, 12)
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
        self.quick_buttons = []
        for i, amount in enumerate(presenter.quick_amounts()):
            text = f"Exact {presenter.amount_text(amount)}" if i == 0 else presenter.amount_text(amount)
            b = button(text)
            b.clicked.connect(lambda _=False, a=amount: self.amount_field.setText(presenter.plain_text(a)))
            quick.addWidget(b)
            self.quick_buttons.append(b)

        keypad = QGridLayout()
        keypad.setSpacing(8)
        for i, key in enumerate(KEYS):
            b = button(key, "key")
            b.clicked.connect(lambda _=False, k=key: self.amount_field.insert(k))
            keypad.addWidget(b, i // 3, i % 3)
        back = button("⌫", "key")
        back.clicked.connect(self.amount_field.backspace)
        clear = button("Clear", "key")
        clear.clicked.connect(self.amount_field.clear)
        keypad.addWidget(back, 0, 3)
        keypad.addWidget(clear, 1, 3)

        change_box = card()
        change_layout = QVBoxLayout(change_box)
        change_layout.setContentsMargins(20, 12, 20, 12)
        self.change_caption = QLabel("Change")
        self.change_caption.setObjectName("totalLabel")
        self.change_label = QLabel("")
        self.change_label.setObjectName("change")
        self.change_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        change_layout.addWidget(self.change_caption)
        change_layout.addWidget(self.change_label)

        self.message = QLabel("")
        self.message.setWordWrap(True)

        actions = QHBoxLayout()
        self.cancel_button = button("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.confirm_button = button("Confirm payment", "primary")
        self.confirm_button.clicked.connect(self.confirm)
        actions.addWidget(self.cancel_button, 1)
        actions.addWidget(self.confirm_button, 2)

        root = QVBoxLayout(self)
        root.setContentsMargins(24, 20, 24, 20)
        root.setSpacing(12)
        root.addWidget(due)
        root.addWidget(tendered_caption)
        root.addWidget(self.amount_field)
        root.addLayout(quick)
        root.addLayout(keypad)
        root.addWidget(change_box)
        root.addWidget(self.message)
        root.addLayout(actions)
        self.amount_field.setFocus()
        self.refresh()

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

    def confirm(self) -> None:
        if self.presenter.display().can_confirm:
            self.accept()

    def _typed(self, text: str) -> None:
        self.presenter.set_text(text)
        self.refresh()
