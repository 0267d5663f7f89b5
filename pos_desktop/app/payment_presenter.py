"""``PaymentPresenter``: cash tendered in, change (or how much is short) out; no widgets."""

from __future__ import annotations

from dataclasses import dataclass

from pos_core.errors import PosError
from pos_core.money import exponent, format_money, parse_amount

NOTES = (5, 10, 20, 50, 100, 200, 500)
"""Banknotes in whole currency units, for the quick-cash buttons."""
QUICK_BUTTONS = 4


@dataclass(frozen=True, slots=True)
class PaymentDisplay:
    total_text: str
    change_label: str
    """``Change`` or ``Short``."""
    change_text: str
    message: str
    message_is_error: bool
    can_confirm: bool


class PaymentPresenter:
    """Cash payment of ``total`` minor units of ``currency``."""

    def __init__(self, total: int, currency: str) -> None:
        self.total = total
        self.currency = currency
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text

    def tendered(self) -> int | None:
        """The amount typed, in minor units, or ``None`` when it is not a valid amount."""
        if not self._text.strip():
            return None
        try:
            amount = parse_amount(self._text, self.currency)
        except PosError:
            return None
        return amount if amount > 0 else None

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

    def display(self) -> PaymentDisplay:
        total_text = format_money(self.total, self.currency)
        tendered = self.tendered()
        if not self._text.strip():
            return PaymentDisplay(
                total_text, "Change", "—", "Type the cash handed over, or tap an amount.", False, False
            )
        if tendered is None:
            return PaymentDisplay(
                total_text, "Change", "—", f"{self._text!r} is not an amount; type e.g. 20.00.", True, False
            )
        if tendered < self.total:
            short = format_money(self.total - tendered, self.currency)
            return PaymentDisplay(total_text, "Short", f"{short} short", "Ask for more cash.", True, False)
        change = format_money(tendered - self.total, self.currency)
        return PaymentDisplay(total_text, "Change", change, "Press Enter or Confirm to finish.", False, True)
