"""``LoginView``: tap your name, type your PIN on the pad or the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from pos_desktop.app.login_presenter import LoginPresenter
from pos_desktop.app.style import button, card, set_message


class LoginView(QWidget):
    """Emits ``login_requested(cashier_id, pin)``; the window sends it to the server."""

    login_requested = Signal(str, str)
    retry_requested = Signal()

    def __init__(self, presenter: LoginPresenter, store_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setObjectName("page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.title = QLabel(store_name or "Register")
        self.title.setObjectName("title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.cashier_box = card()
        self.cashier_layout = QVBoxLayout(self.cashier_box)
        self.cashier_layout.setContentsMargins(20, 20, 20, 20)
        self.cashier_layout.setSpacing(12)
        heading = QLabel("Who is selling?")
        heading.setObjectName("muted")
        self.cashier_layout.addWidget(heading)
        self.cashier_list = QVBoxLayout()
        self.cashier_list.setSpacing(12)
        self.cashier_layout.addLayout(self.cashier_list)
        self.cashier_layout.addStretch(1)
        self.cashier_group = QButtonGroup(self)
        self.cashier_group.setExclusive(True)
        self.cashier_buttons: dict[str, QPushButton] = {}

        pad_box = card()
        pad = QVBoxLayout(pad_box)
        pad.setContentsMargins(20, 20, 20, 20)
        self.prompt = QLabel("")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin_mask = QLabel("")
        self.pin_mask.setObjectName("pinMask")
        self.pin_mask.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pad.addWidget(self.prompt)
        pad.addWidget(self.pin_mask)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.digit_buttons: dict[str, QPushButton] = {}
        for i, digit in enumerate("123456789"):
            b = button(digit, "key")
            b.clicked.connect(lambda _=False, d=digit: self._digit(d))
            grid.addWidget(b, i // 3, i % 3)
            self.digit_buttons[digit] = b
        self.clear_button = button("Clear", "key")
        self.clear_button.clicked.connect(self._clear)
        zero = button("0", "key")
        zero.clicked.connect(lambda: self._digit("0"))
        self.digit_buttons["0"] = zero
        back = button("⌫", "key")
        back.clicked.connect(self._backspace)
        grid.addWidget(self.clear_button, 3, 0)
        grid.addWidget(zero, 3, 1)
        grid.addWidget(back, 3, 2)
        pad.addLayout(grid)
        self.submit_button = button("Log in", "primary")
        self.submit_button.clicked.connect(self.submit)
        pad.addWidget(self.submit_button)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retry_button = button("Try again")
        self.retry_button.clicked.connect(self.retry_requested.emit)

        columns = QHBoxLayout()
        columns.setSpacing(24)
        columns.addWidget(self.cashier_box, 1)
        columns.addWidget(pad_box, 1)
        root = QVBoxLayout(self)
        root.setContentsMargins(40, 30, 40, 30)
        root.setSpacing(18)
        root.addWidget(self.title)
        root.addLayout(columns, 1)
        root.addWidget(self.message)
        root.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.refresh()

    def set_store_name(self, name: str) -> None:
        self.title.setText(name)

    def refresh(self) -> None:
        d = self.presenter.display()
        known = set(self.cashier_buttons)
        wanted = [c.id for c in d.cashiers]
        if known != set(wanted):
            self._rebuild_cashiers()
        for cashier_id, b in self.cashier_buttons.items():
            b.setChecked(cashier_id == d.selected_id)
        self.cashier_box.setVisible(bool(d.cashiers))
        self.prompt.setText(d.prompt)
        self.pin_mask.setText(d.pin_mask or " ")
        self.submit_button.setEnabled(d.can_submit)
        set_message(self.message, d.message, error=d.message_is_error)
        self.retry_button.setVisible(d.can_retry)

    def submit(self) -> None:
        request = self.presenter.submit()
        self.refresh()
        if request is not None:
            self.login_requested.emit(*request)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif event.key() == Qt.Key.Key_Backspace:
            self._backspace()
        elif event.key() == Qt.Key.Key_Escape:
            self._clear()
        elif text.isdigit():
            self._digit(text)
        else:
            super().keyPressEvent(event)

    def typed_state(self) -> object:
        return self.presenter.typed()

    def restore_typed(self, state: object) -> None:
        self.presenter.restore(state if isinstance(state, str) else "")
        self.refresh()

    def scan_refused(self, code: str) -> None:
        self.presenter.scan_refused()
        self.refresh()

    def _rebuild_cashiers(self) -> None:
        for b in list(self.cashier_buttons.values()):
            self.cashier_group.removeButton(b)
            b.deleteLater()
        self.cashier_buttons.clear()
        for cashier in self.presenter.display().cashiers:
            b = button(cashier.name, "cashier")
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, cid=cashier.id: self._select(cid))
            self.cashier_group.addButton(b)
            self.cashier_list.addWidget(b)
            self.cashier_buttons[cashier.id] = b

    def _select(self, cashier_id: str) -> None:
        self.presenter.select(cashier_id)
        self.refresh()
        self.setFocus()

    def _digit(self, digit: str) -> None:
        self.presenter.press_digit(digit)
        self.refresh()

    def _backspace(self) -> None:
        self.presenter.backspace()
        self.refresh()

    def _clear(self) -> None:
        self.presenter.clear_pin()
        self.refresh()
