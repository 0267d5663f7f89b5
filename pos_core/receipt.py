"""The receipt as rows of text: laid out once here, printed by any printer driver."""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal

from pos_core.money import format_amount, rate_text
from pos_core.sale import Sale, SaleLine
from pos_core.weight import format_net_weight

Align = Literal["left", "center", "right"]
Symbology = Literal["CODE128", "EAN13"]
SaleCode = Literal["qr", "code128", "none"]
"""How a receipt carries its sale id for the return desk's scanner: a QR code, a CODE128 barcode, or not."""

SALE_CODE_PREFIX = "POS-SALE:"
_SALE_DIGITS = 40  # a UUID's 128 bits are at most 39 decimal digits; an even count packs into CODE128 set C


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """One printed row. ``big`` is double width and height (uses two columns per character).

    ``qr`` prints ``text`` as a QR code instead of as letters; ``barcode`` prints it as that 1D
    barcode with its digits under it. The printer centres either by the row's ``align``.
    """

    text: str
    align: Align = "left"
    bold: bool = False
    big: bool = False
    qr: bool = False
    barcode: Symbology | None = None


@dataclass(frozen=True, slots=True)
class ReceiptLayout:
    """What the lane's printer asks of the layout: characters per line, and how the sale id is coded."""

    width: int = 42
    sale_code: SaleCode = "qr"


@dataclass(frozen=True, slots=True)
class StoreHeader:
    name: str
    address_lines: tuple[str, ...] = ()
    footer: str = "Thank you for shopping with us"


def _pair(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one row; ``left`` is cut if both do not fit."""
    room = width - len(right) - 1
    if len(left) > room:
        left = left[: max(room - 1, 0)] + "~"
    return left + " " * (width - len(left) - len(right)) + right


def _wrapped(
    text: str, width: int, align: Align = "left", *, bold: bool = False, big: bool = False
) -> list[ReceiptRow]:
    """``text`` over as many rows as it needs (``width`` counts the characters of this row's size)."""
    lines = textwrap.wrap(text, width) or [""]
    return [ReceiptRow(line, align, bold=bold, big=big) for line in lines]


def _total_row(total: str, currency: str, width: int) -> ReceiptRow:
    """The total in double size if it fits half the columns (dropping the currency first), else bold."""
    for label in (f"TOTAL {currency}", "TOTAL"):
        if len(label) + 1 + len(total) <= width // 2:
            return ReceiptRow(_pair(label, total, width // 2), bold=True, big=True)
    return ReceiptRow(_pair(f"TOTAL {currency}", total, width), bold=True)


def layout_receipt(
    sale: Sale,
    store: StoreHeader,
    cashier_name: str,
    width: int = 42,
    tz: tzinfo = UTC,
    *,
    sale_code: SaleCode = "qr",
) -> list[ReceiptRow]:
    """Lay out a sale's receipt for a printer ``width`` characters wide; no row is wider.

    Args:
        tz: the shop's time zone; the sale's UTC timestamp is printed in it.
        sale_code: how the sale id is printed at the end for the return desk to scan.
    """
    cur = sale.currency
    when = datetime.fromisoformat(sale.created_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    rows = _wrapped(store.name, width // 2, "center", bold=True, big=True)
    for address in store.address_lines:
        rows += _wrapped(address, width, "center")
    rows.append(ReceiptRow(""))
    rows.append(ReceiptRow(_pair(when, sale.register, width)))
    rows += _wrapped(f"Served by {cashier_name}", width)
    rows.append(ReceiptRow("-" * width))
    for line in sale.lines:
        rows.append(ReceiptRow(_pair(line.name, format_amount(line.amount, cur), width)))
        if detail := _quantity_detail(line, cur):
            rows.extend(ReceiptRow(part[:width]) for part in _fit_detail(detail, width))
    rows.append(ReceiptRow("-" * width))
    if not sale.prices_include_tax:
        rows.append(ReceiptRow(_pair("Subtotal", format_amount(sale.subtotal, cur), width)))
        for t in sale.taxes:
            rows.append(ReceiptRow(_pair(f"Tax {t.code} {rate_text(t.rate_ppm)}", format_amount(t.tax, cur), width)))
    rows.append(_total_row(format_amount(sale.total, cur), cur, width))
    for tender in sale.tenders:
        rows.append(ReceiptRow(_pair(tender.label(), format_amount(tender.amount, cur), width)))
        if tender.auth_code is not None:
            rows.append(ReceiptRow(f"  Auth code {tender.auth_code}"[:width]))
        if tender.reference is not None:
            rows.append(ReceiptRow(f"  Ref {tender.reference}"[:width]))
    if not sale.tenders or any(t.is_cash for t in sale.tenders):
        rows.append(ReceiptRow(_pair("Change", format_amount(sale.change, cur), width)))
    if sale.prices_include_tax:
        rows.append(ReceiptRow(""))
        for t in sale.taxes:
            label = f"incl. tax {t.code} {rate_text(t.rate_ppm)} on {format_amount(t.taxable, cur)}"
            rows.append(ReceiptRow(_pair(label, format_amount(t.tax, cur), width)))
    rows.append(ReceiptRow(""))
    rows += _wrapped(store.footer, width, "center")
    rows += _wrapped(f"Sale {sale.id}", width, "center")
    # scanned at the till to find the sale for a return
    if sale_code == "qr":
        rows.append(ReceiptRow(sale_qr_code(sale.id), "center", qr=True))
    elif sale_code == "code128":
        rows.append(ReceiptRow(sale_barcode(sale.id), "center", barcode="CODE128"))
    return rows


def sale_qr_code(sale_id: str) -> str:
    """What a receipt's QR code holds: enough to find the sale again, nothing personal."""
    return f"{SALE_CODE_PREFIX}{sale_id}"


def sale_barcode(sale_id: str) -> str:
    """What a receipt's CODE128 barcode holds: a UUID sale id as 40 digits, else the QR code's text.

    Digits pack two to a bar pattern (CODE128 set C), so a UUID fits an 80 mm receipt; 40
    digits cannot be mistaken for a product's barcode (at most 14).
    """
    try:
        as_uuid = uuid.UUID(sale_id)
    except ValueError:
        return sale_qr_code(sale_id)
    return f"{as_uuid.int:0{_SALE_DIGITS}d}"


def sale_id_from_code(scanned: str) -> str | None:
    """The sale id in a scanned receipt code (QR or barcode); None when it is not a receipt's code."""
    if scanned.startswith(SALE_CODE_PREFIX) and len(scanned) > len(SALE_CODE_PREFIX):
        return scanned[len(SALE_CODE_PREFIX) :]
    if len(scanned) == _SALE_DIGITS and scanned.isdigit() and int(scanned) < 1 << 128:
        return str(uuid.UUID(int=int(scanned)))
    return None


def _fit_detail(detail: str, width: int) -> list[str]:
    """A quantity detail too long for the paper (a tared weight on 58 mm) gets its price on a row of its own."""
    weight, x, price = detail.rpartition(" x ")
    if len(detail) <= width or not x:
        return [detail]
    return [weight, f"    x {price}"]


def _quantity_detail(line: SaleLine, currency: str) -> str | None:
    """``  0.534 kg x 2.99/kg`` for a weighed line (``  0.534 kg net (tare 0.012 kg) x 2.99/kg``
    when the scale took off its container), ``  2 x 3.89`` for several pieces."""
    price = format_amount(line.unit_price, currency)
    if line.sold_by == "weight":
        return f"  {format_net_weight(line.quantity, line.tare_grams)} x {price}/kg"
    return f"  {line.quantity} x {price}" if line.quantity != 1 else None
