"""Goods sold by weight: a price per kilogram, a quantity in whole grams (DESIGN.md §2).

A product is sold ``each`` (quantity = pieces, ``price`` per piece) or by ``weight``
(quantity = grams, ``price`` per kilogram). A weighed line's amount is the one place where a
price is divided: ``price * grams / 1000``, rounded with ``WEIGHT_ROUNDING`` to a whole minor
unit. ``Decimal`` is used only inside that computation; what comes out is an integer.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pos_core.errors import PosError

SoldBy = Literal["each", "weight"]
SOLD_BY: tuple[SoldBy, ...] = ("each", "weight")
GRAMS_PER_KG = 1000
WEIGHT_ROUNDING = ROUND_HALF_UP
"""Half a cent or more rounds up: 2.99/kg x 0.534 kg = 159.666 -> 160."""
MAX_GRAMS = 100_000
"""100 kg on one line: far above any checkout scale, well below a mistyped barcode."""
MAX_PIECES = 9_999
"""More than this on one line is almost certainly a typo (a barcode typed into quantity)."""
MAX_TARE_GRAMS = 2_000
"""A preset tare (a weighed product's container: a deli tub is about 12 g, a tray 30 g) above
2 kg is not a container a checkout scale weighs goods in; it is a typo (a price keyed as tare)."""


def sold_by(value: object) -> SoldBy:
    """``value`` as a ``SoldBy``.

    Raises:
        PosError: it is not ``each`` or ``weight``.
    """
    if value == "each":
        return "each"
    if value == "weight":
        return "weight"
    raise PosError(f"A product is sold 'each' or by 'weight', not {value!r}.")


def weighed_amount(price_per_kg: int, grams: int) -> int:
    """What ``grams`` cost at ``price_per_kg`` minor units, rounded with ``WEIGHT_ROUNDING``."""
    value = Decimal(price_per_kg) * Decimal(grams) / Decimal(GRAMS_PER_KG)
    return int(value.quantize(Decimal(1), rounding=WEIGHT_ROUNDING))


def line_amount(unit_price: int, quantity: int, how: SoldBy) -> int:
    """A line's amount: pieces times the price, or grams at the price per kilogram."""
    return weighed_amount(unit_price, quantity) if how == "weight" else unit_price * quantity


def max_quantity(how: SoldBy) -> int:
    return MAX_GRAMS if how == "weight" else MAX_PIECES


def quantity_problem(quantity: object, how: SoldBy) -> str | None:
    """Why ``quantity`` cannot be a line's quantity, as a sentence; None when it can."""
    limit = max_quantity(how)
    if type(quantity) is int and 1 <= quantity <= limit:
        return None
    if how == "weight":
        return f"A weight must be a whole number of grams from 1 to {limit:,}."
    return f"Quantity must be a whole number from 1 to {limit:,}."


def tare_problem(tare_grams: object, how: SoldBy) -> str | None:
    """Why ``tare_grams`` cannot be the preset tare of a product sold ``how``, as a sentence; None when it can.

    A tare is whole grams from 0 (none) to ``MAX_TARE_GRAMS``, and only a product sold by weight has one.
    """
    if type(tare_grams) is not int or not 0 <= tare_grams <= MAX_TARE_GRAMS:
        return f"A tare must be a whole number of grams from 0 to {MAX_TARE_GRAMS:,}, not {tare_grams!r}."
    if tare_grams and how != "weight":
        return "Only a product sold by weight has a tare; set the tare to 0 or sell it by weight."
    return None


def format_weight(grams: int) -> str:
    """``534`` -> ``"0.534 kg"``: how a weight reads on screens and receipts."""
    kg, rest = divmod(grams, GRAMS_PER_KG)
    return f"{kg}.{rest:03d} kg"


def format_net_weight(grams: int, tare_grams: int) -> str:
    """``"0.534 kg net (tare 0.012 kg)"`` with a preset tare, else ``"0.534 kg"``."""
    if not tare_grams:
        return format_weight(grams)
    return f"{format_weight(grams)} net (tare {format_weight(tare_grams)})"
