"""``PaymentPresenter``: cash tendered in, change (or how much is short) out; and the card payment's
state, from "Pay by card" to the terminal's answer; no widgets.

Cash typed that is less than the total and then "Pay by card" is a split tender: the card pays
the rest. A card payment whose outcome is unknown keeps the dialog open, with neither cash nor a
new card payment, until the terminal is asked again or a person settles it after checking the
terminal: the customer is never charged twice. Settling by hand needs a manager other than the
cashier, who authorises it with their PIN on the store server (DESIGN.md §7); it is logged there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from peripherals.payment import UNKNOWN_MESSAGE, IntentState, PaymentIntent, PaymentResult, Prompt
from pos_core.errors import PosError
from pos_core.money import exponent, format_money, parse_amount
from pos_desktop.lane.client import SETTLE_PAID, SETTLE_UNPAID
from pos_desktop.lane.wire import Cashier

NOTES = (5, 10, 20, 50, 100, 200, 500)
"""Banknotes in whole currency units, for the quick-cash buttons."""
QUICK_BUTTONS = 4
MAX_CHANGE_UNITS = 500
"""Cash may exceed the total by at most this many whole currency units (€500.00): more is a typo."""
CARD_PROMPTS = {
    "insert_card": "Ask the customer to insert, tap or swipe their card.",
    "present_card": "Ask the customer to tap or insert their card.",
    "enter_pin": "The customer is entering their PIN.",
    "remove_card": "Ask the customer to take their card.",
    "processing": "The terminal is asking the bank…",
    "see_terminal": "Look at the card terminal's screen.",
}
"""The terminal's known prompts in the register's own words; others show the terminal's text."""
STARTING = "Asking the card terminal…"

CardState = Literal["idle", "paying", "unknown", "approved"]


NO_MANAGER = (
    "No manager other than you is on the store's list, so nobody here can authorise settling it by hand; "
    "ask the terminal again, or have the store make someone a manager (pos store cashier role NAME manager)."
)


def managers_other_than(cashiers: Sequence[Cashier], cashier_id: str | None) -> tuple[Cashier, ...]:
    """Who may authorise an override for the cashier ``cashier_id``: the active managers but them."""
    return tuple(c for c in cashiers if c.is_manager and c.id != cashier_id)


@dataclass(frozen=True, slots=True)
class CardDisplay:
    """The card half of the payment screen."""

    available: bool
    """This register has a card terminal."""
    button_text: str
    can_start: bool
    prompt: str
    """What the terminal asks of the customer right now; empty when no payment runs."""
    can_cancel: bool
    can_check: bool
    """Ask the terminal again about the payment whose outcome is unknown."""
    can_settle: bool
    """Settle that payment by hand, after a person checked the terminal's journal."""
    approval: ApprovalDisplay | None = None
    """A manager authorising that settlement; None when nobody is asked."""


@dataclass(frozen=True, slots=True)
class ApprovalDisplay:
    """A manager authorising a card payment settled by hand: their name and PIN."""

    question: str
    managers: tuple[Cashier, ...]
    """Who may be asked: the managers other than the cashier (never empty: with none, nobody is asked)."""
    can_send: bool
    """False while the store server checks the PIN."""


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """What to ask the store server to authorise."""

    manager_id: str
    pin: str
    action: str
    subject: str


@dataclass(frozen=True, slots=True)
class PaymentDisplay:
    total_text: str
    change_label: str
    """``Change`` or ``Short``."""
    change_text: str
    message: str
    message_is_error: bool
    can_confirm: bool
    can_type_cash: bool
    can_close: bool
    card: CardDisplay


class PaymentPresenter:
    """Payment of ``total`` minor units of ``currency``, in cash, by card, or both.

    Args:
        card_available: a card terminal is set up on this lane.
        blocked: an earlier card payment whose outcome is unknown; no new card payment until
            it is settled.
        approvers: who may be asked to authorise settling it by hand: the managers other than the
            cashier (``managers_other_than``).
    """

    def __init__(
        self,
        total: int,
        currency: str,
        *,
        card_available: bool = False,
        blocked: PaymentIntent | None = None,
        approvers: Sequence[Cashier] = (),
    ) -> None:
        self.total = total
        self.currency = currency
        self.card_available = card_available
        self.blocked = blocked
        self.approvers = tuple(approvers)
        self._settling: bool | None = None
        """Settling by hand as paid (True) or not (False), waiting for a manager; None when not."""
        self._approving = False
        """The manager's PIN is with the store server."""
        self._text = ""
        self._card: CardState = "idle"
        self._paying = 0
        self._prompt = ""
        self._said: tuple[str, bool] | None = (UNKNOWN_MESSAGE, True) if blocked else None
        self.card_result: PaymentResult | None = None
        """The approved card payment, once there is one."""

    # -- cash ----------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        if self._card == "idle" and self.blocked is None:
            self._said = None  # the cashier moved on from the last card answer

    def tendered(self) -> int | None:
        """The amount typed, in minor units, or ``None`` when it is not a valid amount."""
        if not self._text.strip():
            return None
        try:
            amount = parse_amount(self._text, self.currency)
        except PosError:
            return None
        return amount if amount > 0 else None

    def max_tendered(self) -> int:
        """The most cash that can be taken: the total plus ``MAX_CHANGE_UNITS`` whole units."""
        unit: int = 10 ** exponent(self.currency)
        return self.total + MAX_CHANGE_UNITS * unit

    def quick_amounts(self) -> list[int]:
        """Exact money, then the next round amounts a customer is likely to hand over."""
        unit = 10 ** exponent(self.currency)
        amounts = [self.total]
        whole_up = -(-self.total // unit) * unit
        if whole_up > self.total:
            amounts.append(whole_up)
        for note in NOTES:
            value = note * unit
            next_multiple = -(-self.total // value) * value
            if next_multiple > amounts[-1]:
                amounts.append(next_multiple)
            if len(amounts) >= QUICK_BUTTONS:
                break
        return amounts[:QUICK_BUTTONS]

    def amount_text(self, minor: int) -> str:
        return format_money(minor, self.currency)

    def plain_text(self, minor: int) -> str:
        """``minor`` as the cashier would type it, e.g. ``20.00``."""
        exp = exponent(self.currency)
        whole, frac = divmod(minor, 10**exp) if exp else (minor, 0)
        return f"{whole}.{frac:0{exp}d}" if exp else str(whole)

    # -- card ----------------------------------------------------------------------------------
    def cash_beside_card(self) -> int:
        """Cash typed that is less than the total: the card pays the rest. Otherwise 0."""
        cash = self.tendered()
        return cash if cash is not None and cash < self.total else 0

    def card_amount(self) -> int:
        return self.total - self.cash_beside_card()

    def card_started(self) -> int:
        """The card payment begins; returns the amount to ask the terminal for."""
        self._card, self._prompt, self._said = "paying", STARTING, None
        self._paying = self.card_amount()
        return self._paying

    def card_prompted(self, prompt: Prompt) -> None:
        if self._card == "paying":
            self._prompt = CARD_PROMPTS.get(prompt.code, prompt.text)

    def card_finished(self, result: PaymentResult) -> None:
        """The terminal's answer: approved (the sale can be completed), declined, cancelled, or unknown."""
        self._prompt = ""
        if result.approved:
            self._card, self.card_result = "approved", result
            self._said = (result.message, False)
        elif result.state is IntentState.UNKNOWN:
            self._card, self.blocked = "unknown", result.intent
            self._said = (result.message, True)
        else:
            self._card = "idle"
            self._said = (result.message, result.state is IntentState.DECLINED)

    def card_failed(self, sentence: str, blocking: PaymentIntent | None) -> None:
        """No payment was made: the terminal could not be reached, or an earlier one is unsettled."""
        self._card, self._prompt = "idle", ""
        self.blocked = blocking or self.blocked
        self._said = (sentence, True)

    def card_settled(self, result: PaymentResult) -> None:
        """Asking the terminal again (or a person) settled, or not, the blocking payment."""
        if self.blocked is None or result.intent_id != self.blocked.intent_id:
            return
        if result.state is IntentState.UNKNOWN:
            self._said = (result.message, True)
            return
        mine = self._card == "unknown"
        self.blocked = None
        if mine and result.approved:
            self._card, self.card_result, self._said = "approved", result, (result.message, False)
            return
        self._card = "idle"
        if result.approved:  # an earlier sale's payment went through after all
            self._said = (
                f"{result.message} Its sale was not completed on this register; refund it on the terminal.",
                True,
            )
        else:
            self._said = (f"{result.message} You may take payment again.", False)

    # -- settling by hand, authorised by a manager ---------------------------------------------
    def settle_requested(self, charged: bool) -> None:
        """The cashier read the terminal's journal: ask a manager to authorise settling it so."""
        if self.blocked is None or self._card not in ("idle", "unknown"):
            return
        if not self.approvers:  # a sentence, not an empty list to pick from
            self._said = (NO_MANAGER, True)
            return
        self._settling = charged
        outcome = "paid" if charged else "not paid"
        self._said = (f"A manager must authorise marking {self.blocked.money} as {outcome}: they pick their "
                      "name, type their PIN on the keypad and tap Authorise.", False)  # fmt: skip

    def approval_request(self, manager_id: str, pin: str) -> OverrideRequest | None:
        """What to send for the manager's name and PIN; None (with a sentence) when something is missing."""
        if self._settling is None or self.blocked is None or self._approving:
            return None
        if manager_id not in {m.id for m in self.approvers}:
            self._said = ("Pick the manager's name first.", True)
            return None
        if not pin:
            self._said = ("Type the manager's PIN.", True)
            return None
        self._approving = True
        self._said = ("Checking the manager's PIN…", False)
        action = SETTLE_PAID if self._settling else SETTLE_UNPAID
        return OverrideRequest(manager_id, pin, action, self.blocked.intent_id)

    def approval_refused(self, sentence: str) -> None:
        """The store server refused the authorisation (wrong PIN, not a manager, ...); ask again."""
        if self._approving:
            self._approving = False
            self._said = (sentence, True)

    def approval_granted(self, manager_name: str) -> bool | None:
        """The manager authorised it: returns how to settle the payment (paid or not), else None."""
        charged = self._settling
        if not self._approving or charged is None:
            return None
        self._settling, self._approving = None, False
        self._said = (f"{manager_name} authorised it; recording what the terminal showed…", False)
        return charged

    def approval_cancelled(self) -> None:
        if not self._approving:
            self._settling = None
            self._said = (UNKNOWN_MESSAGE, True) if self.blocked is not None else None

    def scan_refused(self, code: str) -> None:
        """A barcode was scanned into the payment: it is neither cash nor an item here."""
        self._said = (f"That was a barcode ({code}); finish or cancel the payment before adding items.", True)

    @property
    def card_approved(self) -> bool:
        return self._card == "approved"

    # -- what the screen shows -----------------------------------------------------------------
    def display(self) -> PaymentDisplay:
        total_text = format_money(self.total, self.currency)
        tendered = self.tendered()
        if not self._text.strip():
            shown = ("Change", "—", "Type the cash handed over, or tap an amount.", False, False)
        elif tendered is None:
            shown = ("Change", "—", f"{self._text!r} is not an amount; type e.g. 20.00.", True, False)
        elif tendered > self.max_tendered():
            most = format_money(self.max_tendered(), self.currency)
            shown = (
                "Change",
                "—",
                f"That is more cash than this sale can take (at most {most}); check the amount.",
                True,
                False,
            )
        elif tendered < self.total:
            short = format_money(self.total - tendered, self.currency)
            hint = "Ask for more cash, or let the card pay the rest." if self._card_ready() else "Ask for more cash."
            shown = ("Short", f"{short} short", hint, True, False)
        else:
            change = format_money(tendered - self.total, self.currency)
            shown = ("Change", change, "Press Enter or Confirm to finish.", False, True)
        label, change_text, message, is_error, can_confirm = shown
        if self._card == "paying":
            money = format_money(self._paying, self.currency)
            message, is_error = f"Card payment of {money} in progress on the terminal; wait, or cancel it.", False
        elif self._said is not None:
            message, is_error = self._said
        calm = self._card == "idle" and not self._approving
        return PaymentDisplay(
            total_text=total_text,
            change_label=label,
            change_text=change_text,
            message=message,
            message_is_error=is_error,
            can_confirm=can_confirm and calm and not self._blocked_here(),
            can_type_cash=calm,
            can_close=calm,
            card=self._card_display(),
        )

    def _card_ready(self) -> bool:
        return self.card_available and self.blocked is None and self._card == "idle"

    def _blocked_here(self) -> bool:
        return self._card == "unknown"

    def _card_display(self) -> CardDisplay:
        cash = self.cash_beside_card()
        if self._card == "paying":
            text = f"Paying {format_money(self._paying, self.currency)} by card…"
        elif cash:
            text = f"Card {format_money(self.total - cash, self.currency)} + cash {format_money(cash, self.currency)}"
        else:
            text = f"Pay {format_money(self.total, self.currency)} by card"
        unsettled = self.blocked is not None and self._card in ("idle", "unknown")
        prompt = self._prompt
        asking = unsettled and self._settling is not None
        if unsettled and self.blocked is not None:  # once answered, the manager's question takes its place
            prompt = "" if asking else f"Look at the terminal: was {self.blocked.money} paid?"
        approval = None
        if asking and self.blocked is not None:
            outcome = "paid" if self._settling else "not paid"
            approval = ApprovalDisplay(
                f"Manager: authorise marking {self.blocked.money} as {outcome}.",
                self.approvers,
                can_send=not self._approving and bool(self.approvers),
            )
        return CardDisplay(
            available=self.card_available,
            button_text=text,
            can_start=self._card_ready() and self.total > 0,
            prompt=prompt,
            can_cancel=self._card == "paying",
            can_check=unsettled and not asking,
            can_settle=unsettled and not asking,
            approval=approval,
        )
