"""Money as integers in minor units with an ISO 4217 currency (DESIGN.md section 2).

``Decimal`` appears only inside percentage computations, quantized with a named
rounding mode and turned back into integers. ``float`` never appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pos_core.errors import CurrencyMismatch, PosError

# Minor-unit exponents for the currencies a store is likely to use; ISO 4217.
_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "TND": 3,
}
_SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

PPM = 1_000_000
"""Rates are integers in parts per million: 19 % is 190_000, 8.875 % is 88_750."""


_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]*)?|-?\.[0-9]+")
"""An amount as typed: digits, at most one decimal point (a comma is made one first)."""


def exponent(currency: str) -> int:
    """Return how many minor-unit digits ``currency`` has.

    Raises:
        PosError: the currency code is not one we know.
    """
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise PosError(f"Unknown currency code {currency!r}; use an ISO 4217 code such as EUR.") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units (cents) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # bool and float are refused on purpose
            raise PosError(f"Money needs an integer amount of minor units, got {self.minor!r}.")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise PosError(f"Money can only be multiplied by a whole number, got {quantity!r}.")
        return Money(self.minor * quantity, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)


def format_amount(minor: int, currency: str) -> str:
    """Format minor units as a plain decimal string, e.g. ``-1234`` EUR -> ``-12.34``."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp) if exp else (abs(minor), 0)
    return f"{sign}{whole:,}" + (f".{frac:0{exp}d}" if exp else "")


def format_money(minor: int, currency: str) -> str:
    """Format for a screen or receipt, e.g. ``€12.34`` or ``CHF 12.34``."""
    symbol = _SYMBOLS.get(currency)
    text = format_amount(minor, currency)
    if symbol is None:
        return f"{currency} {text}"
    if text.startswith("-"):
        return f"-{symbol}{text[1:]}"
    return f"{symbol}{text}"


def parse_amount(text: str, currency: str) -> int:
    """Parse what a cashier typed (``"20"``, ``"20.5"``, ``"20,50"``) into minor units.

    Raises:
        PosError: the text is not an amount with at most the currency's decimals.
    """
    exp = exponent(currency)
    cleaned = text.strip().replace(",", ".")
    if not _AMOUNT.fullmatch(cleaned):  # Decimal would also take 1e3, 1_0, NaN and other scripts' digits
        raise PosError(f"{text!r} is not an amount; type digits, e.g. 20.00.")
    value = Decimal(cleaned)
    if not value.is_finite() or value.as_tuple().exponent < -exp:  # type: ignore[operator]
        raise PosError(f"{text!r} is not an amount in {currency} (at most {exp} decimals).")
    return int(value.scaleb(exp))


def percent_of(minor: int, rate_ppm: int) -> int:
    """``minor`` times ``rate_ppm`` / 1,000,000, rounded half up to a whole minor unit."""
    return int((Decimal(minor) * Decimal(rate_ppm) / Decimal(PPM)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_text(rate_ppm: int) -> str:
    """``190000`` -> ``"19%"``, ``88750`` -> ``"8.875%"``."""
    value = (Decimal(rate_ppm) / Decimal(10_000)).normalize()
    return f"{value:f}%"
