"""Tenders: how the customer pays.

``cash`` is money handed over (change comes only from cash). ``card`` is a payment a
semi-integrated terminal approved: the register keeps the terminal payment's reference, the
auth code, the card brand and the last 4 digits, and never more card data (DESIGN.md §7).
A card payment a person settled by hand after checking the terminal has a reference only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pos_core.errors import InsufficientTender, PosError
from pos_core.money import format_money

TENDER_KINDS = frozenset({"cash", "card"})
"""Tender kinds this version accepts; gift cards arrive with their issue."""

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_AUTH_CODE = re.compile(r"[A-Za-z0-9]{1,8}")
_CARD_BRAND = re.compile(r"[A-Za-z][A-Za-z .&-]{0,23}")
_LAST4 = re.compile(r"[0-9]{4}")
CARD_REFERENCE_FORM = "1 to 64 letters, digits or -._:"
"""How a card payment's reference (its id at the terminal) is written, in a sentence."""


def is_card_reference(value: str) -> bool:
    """Whether ``value`` is written as a card payment's reference (``CARD_REFERENCE_FORM``)."""
    return _REFERENCE.fullmatch(value) is not None


_CARD_FIELDS = ("reference", "auth_code", "card_brand", "last4")


@dataclass(frozen=True, slots=True)
class Tender:
    """One payment towards a sale, in minor units of the sale's currency."""

    kind: str
    amount: int
    reference: str | None = None
    """Card: the terminal payment's id (the payment intent), for refunds and reconciliation."""
    auth_code: str | None = None
    card_brand: str | None = None
    last4: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in TENDER_KINDS:
            raise PosError(f"Tender {self.kind!r} is not accepted here.")
        if type(self.amount) is not int or self.amount <= 0:
            raise PosError("A tender must be a positive whole number of minor units.")
        if self.kind == "cash":
            if any(getattr(self, name) is not None for name in _CARD_FIELDS):
                raise PosError("A cash tender carries no card details.")
            return
        _check(self.reference, _REFERENCE, f"The card payment's reference must be {CARD_REFERENCE_FORM}.")
        details = (self.auth_code, self.card_brand, self.last4)
        if all(value is None for value in details):  # settled by hand after checking the terminal
            return
        _check(self.auth_code, _AUTH_CODE, "A card auth code is 1 to 8 letters or digits.")
        _check(self.card_brand, _CARD_BRAND, "A card brand is up to 24 letters, spaces or .&-.")
        _check(self.last4, _LAST4, "Only the last 4 digits of a card may be kept, exactly 4 digits.")

    @classmethod
    def card(
        cls,
        amount: int,
        reference: str,
        auth_code: str | None = None,
        card_brand: str | None = None,
        last4: str | None = None,
    ) -> Tender:
        return cls("card", amount, reference, auth_code, card_brand, last4)

    @property
    def is_cash(self) -> bool:
        return self.kind == "cash"

    def to_wire(self) -> dict[str, Any]:
        """``{"kind", "amount"}``, plus the four card fields (null when not known) for a card."""
        wire: dict[str, Any] = {"kind": self.kind, "amount": self.amount}
        if self.kind == "card":
            wire.update({name: getattr(self, name) for name in _CARD_FIELDS})
        return wire

    def label(self) -> str:
        """How the tender reads on a receipt: ``Cash``, ``Card VISA ending 4727``."""
        if self.kind == "cash":
            return "Cash"
        if self.last4 is None:
            return "Card (checked on the terminal)"
        return f"Card {self.card_brand} ending {self.last4}"


def _check(value: str | None, pattern: re.Pattern[str], sentence: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):  # a pattern's $ would pass a final newline
        raise PosError(sentence)


def card_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The card fields of a decoded tender object (missing ones as None), unchecked."""
    return {name: data.get(name) for name in _CARD_FIELDS}


def cash_change(total: int, tendered: int, currency: str) -> int:
    """Change due when ``tendered`` cash pays ``total``.

    Raises:
        InsufficientTender: the cash handed over does not cover the total.
    """
    if tendered < total:
        short = format_money(total - tendered, currency)
        raise InsufficientTender(f"That is {short} short of the total.")
    return tendered - total
