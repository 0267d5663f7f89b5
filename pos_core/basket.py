"""The basket a cashier rings up, and its totals."""

from __future__ import annotations

from dataclasses import dataclass, field

from pos_core.catalogue import Product
from pos_core.errors import PosError
from pos_core.tax import TaxClass, TaxLine, compute_tax
from pos_core.weight import MAX_PIECES, line_amount, quantity_problem

MAX_QUANTITY = MAX_PIECES
"""The most pieces on one line; weighed lines go up to ``pos_core.weight.MAX_GRAMS``."""


@dataclass(frozen=True, slots=True)
class BasketLine:
    """A product and how much of it: pieces, or grams for a product sold by weight."""

    product: Product
    quantity: int

    @property
    def amount(self) -> int:
        return line_amount(self.product.price, self.quantity, self.product.sold_by)

    @property
    def items(self) -> int:
        """How many things the customer carries: the pieces, or one bag of a weighed product."""
        return 1 if self.product.weighed else self.quantity


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

    def add(self, product: Product, quantity: int | None = None) -> BasketLine:
        """Add ``quantity`` of ``product`` (pieces, default 1; grams for a weighed product, which
        must be given); returns the line as it now stands. One line per product: a second
        weighing of the same product adds its grams to the line.

        Raises:
            PosError: the quantity is not a whole number from 1 up, the line would exceed the
                limit (``MAX_QUANTITY`` pieces, ``MAX_GRAMS`` grams), no weight was given for a
                weighed product, or the product's tax class is unknown.
        """
        if quantity is None:
            if product.weighed:
                raise PosError(f"{product.name} is sold by weight; weigh it first.")
            quantity = 1
        _check_quantity(quantity, product)
        if product.tax_class not in self.rules.classes:
            raise PosError(f"{product.name} has tax class {product.tax_class!r}, which this store lacks.")
        for i, line in enumerate(self.lines):
            if line.product.sku == product.sku:
                _check_quantity(line.quantity + quantity, product)
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
        line = self._line(index)
        _check_quantity(quantity, line.product)
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


def _check_quantity(quantity: int, product: Product) -> None:
    if problem := quantity_problem(quantity, product.sold_by):
        raise PosError(problem)
