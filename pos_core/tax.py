"""Sales tax: classes with integer rates, inclusive and exclusive pricing.

Tax is computed once per tax class over the basket's summed amount, not per line,
so that a receipt's tax lines agree with the tax authority's arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pos_core.errors import PosError
from pos_core.money import PPM


@dataclass(frozen=True, slots=True)
class TaxClass:
    """A named tax rate, e.g. ``standard`` at 19 % (``rate_ppm=190_000``)."""

    code: str
    name: str
    rate_ppm: int

    def __post_init__(self) -> None:
        if type(self.rate_ppm) is not int or not 0 <= self.rate_ppm <= PPM:
            raise PosError(f"Tax rate for {self.code!r} must be between 0 and 100 %.")


def tax_included(gross_minor: int, rate_ppm: int) -> int:
    """The tax contained in a tax-inclusive amount: gross * r / (1 + r), half up."""
    if rate_ppm == 0:
        return 0
    value = Decimal(gross_minor) * Decimal(rate_ppm) / Decimal(PPM + rate_ppm)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_on_top(net_minor: int, rate_ppm: int) -> int:
    """The tax to add to a tax-exclusive amount: net * r, half up."""
    value = Decimal(net_minor) * Decimal(rate_ppm) / Decimal(PPM)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax for one class across a basket.

    ``taxable`` is the amount the tax was computed on: gross when prices include
    tax, net when tax is added on top.
    """

    code: str
    rate_ppm: int
    taxable: int
    tax: int


def compute_tax(
    amounts_by_class: dict[str, int], classes: dict[str, TaxClass], prices_include_tax: bool
) -> list[TaxLine]:
    """Tax lines, sorted by class code, for the summed line amounts of each class.

    Raises:
        PosError: an amount names a tax class the store does not have.
    """
    lines: list[TaxLine] = []
    for code in sorted(amounts_by_class):
        klass = classes.get(code)
        if klass is None:
            raise PosError(f"Tax class {code!r} is not configured for this store.")
        amount = amounts_by_class[code]
        tax = tax_included(amount, klass.rate_ppm) if prices_include_tax else tax_on_top(amount, klass.rate_ppm)
        lines.append(TaxLine(code, klass.rate_ppm, amount, tax))
    return lines
