"""``LoginPresenter``: the login screen's state, with no widgets."""

from __future__ import annotations

from dataclasses import dataclass

from pos_desktop.lane.wire import Cashier

MAX_PIN_DIGITS = 8
PIN_MASK = "●"


@dataclass(frozen=True, slots=True)
class LoginDisplay:
    """What the login screen shows."""

    cashiers: tuple[Cashier, ...]
    selected_id: str | None
    prompt: str
    pin_mask: str
    message: str
    """A sentence for the cashier: an error, or what the register is doing."""
    message_is_error: bool
    can_submit: bool
    can_retry: bool


class LoginPresenter:
    """Pick a cashier, type a PIN, submit; the PIN is never shown or logged."""

    def __init__(self) -> None:
        self._cashiers: tuple[Cashier, ...] = ()
        self._selected: str | None = None
        self._pin = ""
        self._message = "Connecting to the store server…"
        self._error = False
        self._busy = True
        self._can_retry = False

    def display(self) -> LoginDisplay:
        selected = self._selected_cashier()
        if not self._cashiers:
            prompt = ""
        elif selected is None:
            prompt = "Tap your name"
        else:
            prompt = f"{selected.name}, enter your PIN"
        return LoginDisplay(
            cashiers=self._cashiers,
            selected_id=self._selected,
            prompt=prompt,
            pin_mask=PIN_MASK * len(self._pin),
            message=self._message,
            message_is_error=self._error,
            can_submit=selected is not None and bool(self._pin) and not self._busy,
            can_retry=self._can_retry,
        )

    def connecting(self) -> None:
        self._say("Connecting to the store server…", error=False)
        self._busy, self._can_retry = True, False

    def connection_failed(self, sentence: str) -> None:
        self._say(sentence, error=True)
        self._busy, self._can_retry = True, True

    def set_cashiers(self, cashiers: list[Cashier]) -> None:
        self._cashiers = tuple(cashiers)
        self._busy, self._can_retry = False, False
        if self._selected not in {c.id for c in cashiers}:
            self._selected = cashiers[0].id if len(cashiers) == 1 else None
        self._say("" if cashiers else "No cashiers are set up in this store; ask a manager.", error=not cashiers)

    def select(self, cashier_id: str) -> None:
        self._selected = cashier_id
        self._pin = ""
        self._say("", error=False)

    def press_digit(self, digit: str) -> None:
        if digit.isdigit() and len(digit) == 1 and len(self._pin) < MAX_PIN_DIGITS:
            if not self._pin and self._error and not self._can_retry:
                self._say("", error=False)  # a fresh attempt: the last error is dealt with
            self._pin += digit

    def backspace(self) -> None:
        self._pin = self._pin[:-1]

    def clear_pin(self) -> None:
        self._pin = ""

    def typed(self) -> str:
        """The PIN typed so far, so a barcode scanned into the pad can be taken back out."""
        return self._pin

    def restore(self, pin: str) -> None:
        self._pin = pin[:MAX_PIN_DIGITS]

    def scan_refused(self) -> None:
        self._say("That was a barcode; log in first, then scan.", error=True)

    def submit(self) -> tuple[str, str] | None:
        """The cashier id and PIN to send, or ``None`` (with a message) when not ready."""
        if self._busy:
            return None
        if self._selected is None:
            self._say("Tap your name first.", error=True)
            return None
        if not self._pin:
            self._say("Enter your PIN.", error=True)
            return None
        pin, self._pin = self._pin, ""
        self._busy = True
        self._say("Checking your PIN…", error=False)
        return self._selected, pin

    def login_failed(self, sentence: str) -> None:
        self._busy = False
        self._say(sentence, error=True)

    def logged_out(self) -> None:
        self._busy = False
        self._pin = ""
        self._say("", error=False)

    def _selected_cashier(self) -> Cashier | None:
        return next((c for c in self._cashiers if c.id == self._selected), None)

    def _say(self, message: str, *, error: bool) -> None:
        self._message, self._error = message, error
