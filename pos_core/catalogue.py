"""Products as the till sees them, and barcode check digits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NewType

from pos_core.errors import PosError
from pos_core.weight import SoldBy, sold_by, tare_problem

Sku = NewType("Sku", str)


@dataclass(frozen=True, slots=True)
class Product:
    """A sellable item. ``price`` is in minor units of the store currency: per piece when sold
    ``each``, per kilogram when sold by ``weight`` (then quantities are grams).

    ``tare_grams`` is a weighed product's container (a deli tub): the scale takes it off, so the
    line carries the net weight. 0 for none, and always 0 for a product sold ``each``.
    """

    sku: Sku
    barcode: str
    name: str
    price: int
    tax_class: str
    category: str = ""
    sold_by: SoldBy = "each"
    tare_grams: int = 0

    def __post_init__(self) -> None:
        if type(self.price) is not int or self.price < 0:
            raise PosError(f"Price of {self.sku!r} must be a whole, non-negative number of minor units.")
        sold_by(self.sold_by)
        if problem := tare_problem(self.tare_grams, self.sold_by):
            raise PosError(f"{self.sku}: {problem}")

    def to_wire(self) -> dict[str, Any]:
        """The product as ``catalogue.page`` sends it (docs/protocol.md)."""
        return {
            "sku": self.sku,
            "barcode": self.barcode,
            "name": self.name,
            "price": self.price,
            "tax_class": self.tax_class,
            "category": self.category,
            "sold_by": self.sold_by,
            "tare_grams": self.tare_grams,
        }

    @classmethod
    def from_wire(cls, data: object) -> Product:
        """A product of a ``catalogue.page``; ``sold_by`` and ``tare_grams`` may be absent (an older server).

        Raises:
            PosError: a field is missing or of the wrong type, or the figures are not allowed.
        """
        if not isinstance(data, dict):
            raise PosError("A catalogue product must be an object.")
        text = {key: data.get(key) for key in ("sku", "name", "tax_class")}
        for key, value in text.items():
            if not isinstance(value, str) or not value:
                raise PosError(f"A catalogue product's {key} must be a non-empty string.")
        price = data.get("price")
        if type(price) is not int:
            raise PosError(f"The price of catalogue product {text['sku']!r} must be a whole number.")
        return cls(
            sku=Sku(str(text["sku"])),
            barcode=str(data.get("barcode") or ""),
            name=str(text["name"]),
            price=price,
            tax_class=str(text["tax_class"]),
            category=str(data.get("category") or ""),
            sold_by=sold_by(data.get("sold_by", "each")),
            tare_grams=data.get("tare_grams", 0),
        )

    @property
    def weighed(self) -> bool:
        return self.sold_by == "weight"


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it (EAN-8, UPC-A, EAN-13, GTIN-14)."""
    if not body.isdigit():
        raise PosError(f"{body!r} is not all digits.")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True when ``code`` is 8, 12, 13 or 14 digits with a correct check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isdigit():
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def normalise_scan(text: str) -> str:
    """What a scanner or keyboard sent, stripped of whitespace and control characters."""
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())


class Catalogue:
    """Products by barcode and SKU, for ringing up."""

    def __init__(self, products: list[Product] | None = None) -> None:
        self._by_sku: dict[str, Product] = {}
        self._by_barcode: dict[str, Product] = {}
        for product in products or []:
            self.add(product)

    def add(self, product: Product) -> None:
        old = self._by_sku.get(product.sku)
        if old is not None and old.barcode and self._by_barcode.get(old.barcode) is old:
            del self._by_barcode[old.barcode]  # only if still its: the barcode may have moved to another product
        self._by_sku[product.sku] = product
        if product.barcode:
            self._by_barcode[product.barcode] = product

    def remove(self, sku: str) -> None:
        """Stop offering ``sku`` (no longer sold); nothing if it is not here."""
        old = self._by_sku.pop(sku, None)
        if old is not None and old.barcode and self._by_barcode.get(old.barcode) is old:
            del self._by_barcode[old.barcode]

    def __len__(self) -> int:
        return len(self._by_sku)

    def by_sku(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    def lookup(self, code: str) -> Product | None:
        """Find a product by scanned barcode (UPC-A is matched as its EAN-13 too) or SKU."""
        code = normalise_scan(code)
        found = self._by_barcode.get(code) or self._by_sku.get(code)
        if found is None and len(code) == 12 and code.isdigit():
            found = self._by_barcode.get("0" + code)
        return found

    def products(self) -> list[Product]:
        return list(self._by_sku.values())
