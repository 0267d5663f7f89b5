"""The basket a cashier rings up, and its totals."""

from __future__ import annotations

from dataclasses import dataclass, field

from pos_core.catalogue import Product
from pos_core.errors import PosError
from pos_core.tax import TaxClass, TaxLine, compute_tax

MAX_QUANTITY = 9_999
"""More than this on one line is almost certainly a typo (a barcode typed into quantity)."""


@dataclass(frozen=True, slots=True)
class BasketLine:
    product: Product
    quantity: int

    @property
    def amount(self) -> int:
        return self.product.price * self.quantity


@dataclass(frozen=True, slots=True)
class Totals:
    """What the customer pays. ``total`` includes tax in both pricing modes."""

    currency: str
    subtotal: int
    taxes: tuple[TaxLine, ...]
    total: int

    @property
    def tax_total(self) -> int:
        return sum(line.tax for line in self.taxes)


@dataclass(slots=True)
class TaxRules:
    """How a store taxes: its classes and whether shelf prices include tax."""

    currency: str
    classes: dict[str, TaxClass]
    prices_include_tax: bool = True


@dataclass(slots=True)
class Basket:
    """Lines in the order they were first scanned; scanning again adds to the line."""

    rules: TaxRules
    lines: list[BasketLine] = field(default_factory=list)

    def add(self, product: Product, quantity: int = 1) -> BasketLine:
        """Add ``quantity`` of ``product``; returns the line as it now stands.

        Raises:
            PosError: the quantity is not a whole number from 1 up, or the line
                would exceed ``MAX_QUANTITY``, or the product's tax class is unknown.
        """
        _check_quantity(quantity)
        if product.tax_class not in self.rules.classes:
            raise PosError(f"{product.name} has tax class {product.tax_class!r}, which this store lacks.")
        for i, line in enumerate(self.lines):
            if line.product.sku == product.sku:
                _check_quantity(line.quantity + quantity)
                self.lines[i] = BasketLine(product, line.quantity + quantity)
                return self.lines[i]
        line = BasketLine(product, quantity)
        self.lines.append(line)
        return line

    def set_quantity(self, index: int, quantity: int) -> None:
        """Change a line's quantity; zero removes the line."""
        if quantity == 0:
            self.remove(index)
            return
        _check_quantity(quantity)
        line = self._line(index)
        self.lines[index] = BasketLine(line.product, quantity)

    def remove(self, index: int) -> BasketLine:
        line = self._line(index)
        del self.lines[index]
        return line

    def clear(self) -> None:
        self.lines.clear()

    def is_empty(self) -> bool:
        return not self.lines

    def totals(self) -> Totals:
        by_class: dict[str, int] = {}
        for line in self.lines:
            by_class[line.product.tax_class] = by_class.get(line.product.tax_class, 0) + line.amount
        taxes = tuple(compute_tax(by_class, self.rules.classes, self.rules.prices_include_tax))
        subtotal = sum(by_class.values())
        total = subtotal if self.rules.prices_include_tax else subtotal + sum(t.tax for t in taxes)
        return Totals(self.rules.currency, subtotal, taxes, total)

    def _line(self, index: int) -> BasketLine:
        if not 0 <= index < len(self.lines):
            raise PosError(f"There is no line {index + 1} in the basket.")
        return self.lines[index]


def _check_quantity(quantity: int) -> None:
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise PosError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
