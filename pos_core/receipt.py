"""The receipt as rows of text: laid out once here, printed by any printer driver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal

from pos_core.money import format_amount, rate_text
from pos_core.sale import Sale, SaleLine
from pos_core.weight import format_weight

Align = Literal["left", "center", "right"]


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """One printed row. ``big`` is double width and height (uses two columns per character).

    ``qr`` prints ``text`` as a QR code instead of as letters (the printer centres it).
    """

    text: str
    align: Align = "left"
    bold: bool = False
    big: bool = False
    qr: bool = False


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


def layout_receipt(
    sale: Sale, store: StoreHeader, cashier_name: str, width: int = 42, tz: tzinfo = UTC
) -> list[ReceiptRow]:
    """Lay out a sale's receipt for a printer ``width`` characters wide.

    Args:
        tz: the shop's time zone; the sale's UTC timestamp is printed in it.
    """
    cur = sale.currency
    when = datetime.fromisoformat(sale.created_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    rows = [ReceiptRow(store.name, "center", bold=True, big=True)]
    rows += [ReceiptRow(line, "center") for line in store.address_lines]
    rows.append(ReceiptRow(""))
    rows.append(ReceiptRow(_pair(when, sale.register, width)))
    rows.append(ReceiptRow(f"Served by {cashier_name}"))
    rows.append(ReceiptRow("-" * width))
    for line in sale.lines:
        rows.append(ReceiptRow(_pair(line.name, format_amount(line.amount, cur), width)))
        if detail := _quantity_detail(line, cur):
            rows.append(ReceiptRow(detail))
    rows.append(ReceiptRow("-" * width))
    if not sale.prices_include_tax:
        rows.append(ReceiptRow(_pair("Subtotal", format_amount(sale.subtotal, cur), width)))
        for t in sale.taxes:
            rows.append(ReceiptRow(_pair(f"Tax {t.code} {rate_text(t.rate_ppm)}", format_amount(t.tax, cur), width)))
    rows.append(ReceiptRow(_pair(f"TOTAL {cur}", format_amount(sale.total, cur), width // 2), bold=True, big=True))
    for tender in sale.tenders:
        rows.append(ReceiptRow(_pair(tender.label(), format_amount(tender.amount, cur), width)))
        if tender.auth_code is not None:
            rows.append(ReceiptRow(f"  Auth code {tender.auth_code}"))
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
    rows.append(ReceiptRow(store.footer, "center"))
    rows.append(ReceiptRow(f"Sale {sale.id}", "center"))
    rows.append(ReceiptRow(sale_code(sale.id), "center", qr=True))  # scanned at the till to find it for a return
    return rows


def sale_code(sale_id: str) -> str:
    """What a receipt's QR code holds: enough to find the sale again, nothing personal."""
    return f"POS-SALE:{sale_id}"


def _quantity_detail(line: SaleLine, currency: str) -> str | None:
    """``  0.534 kg x 2.99/kg`` for a weighed line, ``  2 x 3.89`` for several pieces."""
    price = format_amount(line.unit_price, currency)
    if line.sold_by == "weight":
        return f"  {format_weight(line.quantity)} x {price}/kg"
    return f"  {line.quantity} x {price}" if line.quantity != 1 else None
