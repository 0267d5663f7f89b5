"""A completed sale: what the lane commits, journals, sends and prints.

``Sale.to_wire`` and ``Sale.from_wire`` are the one place a sale becomes JSON-able
data and back; ``from_wire`` re-checks every figure so a server never stores a
sale whose arithmetic does not add up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pos_core.basket import Basket
from pos_core.errors import InvalidSale, PosError
from pos_core.money import exponent
from pos_core.tax import TaxClass, TaxLine, compute_tax
from pos_core.tender import Tender, card_fields, cash_change
from pos_core.weight import SoldBy, line_amount, quantity_problem, sold_by, tare_problem

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
MAX_LINES = 500
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One product of a sale: ``quantity`` pieces at ``unit_price``, or, sold by ``weight``,
    ``quantity`` grams at ``unit_price`` per kilogram: the net weight, after the scale took off
    the product's container, ``tare_grams`` (0 for none), which the receipt shows."""

    sku: str
    name: str
    quantity: int
    unit_price: int
    amount: int
    tax_class: str
    tax_rate_ppm: int
    sold_by: SoldBy = "each"
    tare_grams: int = 0

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "amount": self.amount,
            "tax_class": self.tax_class,
            "tax_rate_ppm": self.tax_rate_ppm,
        }
        if self.sold_by != "each":  # absent means each: a cash sale of pieces keeps its old wire form and hash
            wire["sold_by"] = self.sold_by
        if self.tare_grams:  # absent means none: an untared line keeps its old wire form and hash
            wire["tare_grams"] = self.tare_grams
        return wire


@dataclass(frozen=True, slots=True)
class Sale:
    id: str
    register: str
    cashier_id: str
    created_at: str
    currency: str
    prices_include_tax: bool
    lines: tuple[SaleLine, ...]
    taxes: tuple[TaxLine, ...]
    subtotal: int
    total: int
    tenders: tuple[Tender, ...]
    change: int

    @property
    def tax_total(self) -> int:
        return sum(t.tax for t in self.taxes)

    @property
    def tendered(self) -> int:
        return sum(t.amount for t in self.tenders)

    @classmethod
    def from_basket(
        cls,
        basket: Basket,
        *,
        sale_id: str,
        register: str,
        cashier_id: str,
        created_at: str,
        cash_tendered: int = 0,
        card: Tender | None = None,
    ) -> Sale:
        """Close ``basket`` paid in cash, by card, or by card with cash for the rest.

        Args:
            cash_tendered: the cash handed over; it must cover what the card does not.
            card: an approved card tender, for the whole total or part of it.

        Raises:
            PosError: the basket is empty, or the card pays more than the total.
            InsufficientTender: the cash does not cover what is left to pay.
        """
        if basket.is_empty():
            raise PosError("The basket is empty; scan an item first.")
        totals = basket.totals()
        card_amount = 0
        if card is not None:
            if card.kind != "card":
                raise PosError("Only a card tender is taken beside the cash.")
            card_amount = card.amount
            if card_amount > totals.total:
                raise PosError("The card payment is more than the total; a card never gives change.")
        change = cash_change(totals.total - card_amount, cash_tendered, totals.currency)
        tenders = ((card,) if card is not None else ()) + ((Tender("cash", cash_tendered),) if cash_tendered else ())
        rules = basket.rules
        lines = tuple(
            SaleLine(
                sku=line.product.sku,
                name=line.product.name,
                quantity=line.quantity,
                unit_price=line.product.price,
                amount=line.amount,
                tax_class=line.product.tax_class,
                tax_rate_ppm=rules.classes[line.product.tax_class].rate_ppm,
                sold_by=line.product.sold_by,
                tare_grams=line.product.tare_grams,
            )
            for line in basket.lines
        )
        return cls(
            id=sale_id,
            register=register,
            cashier_id=cashier_id,
            created_at=created_at,
            currency=totals.currency,
            prices_include_tax=rules.prices_include_tax,
            lines=lines,
            taxes=totals.taxes,
            subtotal=totals.subtotal,
            total=totals.total,
            tenders=tenders,  # a free sale takes no tender
            change=change,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "register": self.register,
            "cashier_id": self.cashier_id,
            "created_at": self.created_at,
            "currency": self.currency,
            "prices_include_tax": self.prices_include_tax,
            "lines": [ln.to_wire() for ln in self.lines],
            "taxes": [{"code": t.code, "rate_ppm": t.rate_ppm, "taxable": t.taxable, "tax": t.tax} for t in self.taxes],
            "subtotal": self.subtotal,
            "tax_total": self.tax_total,
            "total": self.total,
            "tenders": [t.to_wire() for t in self.tenders],
            "change": self.change,
        }

    @classmethod
    def from_wire(cls, data: object) -> Sale:
        """Decode and re-check a sale.

        Raises:
            InvalidSale: a field is missing, of the wrong type, or a figure does not add up;
                the message names the field.
        """
        try:
            return _decode_sale(_obj(data, "sale"))
        except InvalidSale:
            raise
        except PosError as exc:
            raise InvalidSale(str(exc)) from None


def _decode_sale(d: dict[str, Any]) -> Sale:
    sale_id = _str(d, "id")
    if not _UUID.fullmatch(sale_id):  # fullmatch: a pattern's $ would let a final newline through
        raise InvalidSale("sale.id must be a lowercase UUID made by the register.")
    created_at = _str(d, "created_at")
    if not _TIMESTAMP.fullmatch(created_at):
        raise InvalidSale("sale.created_at must be an ISO 8601 timestamp with a time zone.")
    currency = _str(d, "currency")
    exponent(currency)
    include = d.get("prices_include_tax")
    if not isinstance(include, bool):
        raise InvalidSale("sale.prices_include_tax must be true or false.")
    raw_lines = _list(d, "lines", MAX_LINES)
    if not raw_lines:
        raise InvalidSale("sale.lines is empty; a sale needs at least one line.")
    lines: list[SaleLine] = []
    for i, raw in enumerate(raw_lines):
        where = f"sale.lines[{i}]"
        ln = _obj(raw, where)
        try:
            how = sold_by(ln.get("sold_by", "each"))
        except PosError:
            raise InvalidSale(f'{where}.sold_by must be "each" or "weight".') from None
        quantity = _int(ln, "quantity", where)
        if problem := quantity_problem(quantity, how):
            raise InvalidSale(f"{where}.quantity: {problem}")
        tare = ln.get("tare_grams", 0)
        if problem := tare_problem(tare, how):
            raise InvalidSale(f"{where}.tare_grams: {problem}")
        unit_price = _int(ln, "unit_price", where)
        amount = _int(ln, "amount", where)
        if unit_price < 0 or amount != line_amount(unit_price, quantity, how):
            rule = (
                "unit_price (per kg) times quantity (grams) / 1000, half up"
                if how == "weight"
                else "unit_price times quantity"
            )
            raise InvalidSale(f"{where}.amount must equal {rule}.")
        lines.append(
            SaleLine(
                sku=_str(ln, "sku", where),
                name=_str(ln, "name", where),
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                tax_class=_str(ln, "tax_class", where),
                tax_rate_ppm=_int(ln, "tax_rate_ppm", where),
                sold_by=how,
                tare_grams=tare,
            )
        )
    classes: dict[str, TaxClass] = {}
    by_class: dict[str, int] = {}
    for ln_ in lines:
        known = classes.setdefault(ln_.tax_class, TaxClass(ln_.tax_class, ln_.tax_class, ln_.tax_rate_ppm))
        if known.rate_ppm != ln_.tax_rate_ppm:
            raise InvalidSale(f"Tax class {ln_.tax_class!r} appears with two different rates.")
        by_class[ln_.tax_class] = by_class.get(ln_.tax_class, 0) + ln_.amount
    taxes = tuple(compute_tax(by_class, classes, include))
    given_taxes = [_obj(t, "sale.taxes[]") for t in _list(d, "taxes", MAX_LINES)]
    if [(_str(t, "code"), _int(t, "rate_ppm"), _int(t, "taxable"), _int(t, "tax")) for t in given_taxes] != [
        (t.code, t.rate_ppm, t.taxable, t.tax) for t in taxes
    ]:
        raise InvalidSale("sale.taxes do not match the tax computed from the lines.")
    subtotal = sum(by_class.values())
    total = subtotal if include else subtotal + sum(t.tax for t in taxes)
    for name, expected in (("subtotal", subtotal), ("tax_total", sum(t.tax for t in taxes)), ("total", total)):
        if _int(d, name) != expected:
            raise InvalidSale(f"sale.{name} is {d[name]} but the lines add up to {expected}.")
    tenders = tuple(_tender(raw, i) for i, raw in enumerate(_list(d, "tenders", 20)))
    if not tenders and total != 0:
        raise InvalidSale("sale.tenders is empty; a sale must be paid.")
    change = _int(d, "change")
    cash = sum(t.amount for t in tenders if t.kind == "cash")
    if change < 0 or change > cash or sum(t.amount for t in tenders) - change != total:
        raise InvalidSale("sale.tenders minus sale.change must equal the total, and change comes only from cash.")
    return Sale(
        id=sale_id,
        register=_str(d, "register"),
        cashier_id=_str(d, "cashier_id"),
        created_at=created_at,
        currency=currency,
        prices_include_tax=include,
        lines=tuple(lines),
        taxes=taxes,
        subtotal=subtotal,
        total=total,
        tenders=tenders,
        change=change,
    )


def _tender(raw: object, index: int) -> Tender:
    where = f"sale.tenders[{index}]"
    t = _obj(raw, where)
    kind, amount = _str(t, "kind", where), _int(t, "amount", where)
    try:
        return Tender(kind, amount, **card_fields(t))
    except PosError as exc:
        raise InvalidSale(f"{where}: {exc}") from None


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidSale(f"{where} must be an object.")
    return value


def _list(d: dict[str, Any], key: str, limit: int) -> list[Any]:
    value = d.get(key)
    if not isinstance(value, list):
        raise InvalidSale(f"sale.{key} must be a list.")
    if len(value) > limit:
        raise InvalidSale(f"sale.{key} has more than {limit} entries.")
    return value


def _str(d: dict[str, Any], key: str, where: str = "sale") -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidSale(f"{where}.{key} must be a non-empty string of at most {MAX_TEXT} characters.")
    return value


def _int(d: dict[str, Any], key: str, where: str = "sale") -> int:
    value = d.get(key)
    if type(value) is not int or abs(value) > 10**15:
        raise InvalidSale(f"{where}.{key} must be a whole number.")
    return value
