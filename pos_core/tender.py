"""Tenders: how the customer pays."""

from __future__ import annotations

from dataclasses import dataclass

from pos_core.errors import InsufficientTender, PosError
from pos_core.money import format_money

TENDER_KINDS = frozenset({"cash"})
"""Tender kinds this version accepts; cards and gift cards arrive with their issues."""


@dataclass(frozen=True, slots=True)
class Tender:
    kind: str
    amount: int

    def __post_init__(self) -> None:
        if self.kind not in TENDER_KINDS:
            raise PosError(f"Tender {self.kind!r} is not accepted here.")
        if type(self.amount) is not int or self.amount <= 0:
            raise PosError("A tender must be a positive whole number of minor units.")


def cash_change(total: int, tendered: int, currency: str) -> int:
    """Change due when ``tendered`` cash pays ``total``.

    Raises:
        InsufficientTender: the cash handed over does not cover the total.
    """
    if tendered < total:
        short = format_money(total - tendered, currency)
        raise InsufficientTender(f"That is {short} short of the total.")
    return tendered - total
