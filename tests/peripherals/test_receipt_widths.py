"""A real sale printed for a 58 mm (32 columns) and an 80 mm (48 columns) printer, read back line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from peripherals.escpos_decode import decode_escpos, printed_text
from peripherals.lane_config import PrinterSettings
from peripherals.printer import open_printer
from peripherals.printer_setup import printer_setup
from pos_core.basket import Basket, TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.receipt import StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tax import TaxClass

SALE_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def big_sale(prices_include_tax: bool) -> Sale:
    rules = TaxRules("EUR", {"std": TaxClass("std", "Standard", 190_000), "red": TaxClass("red", "Reduced", 70_000)},
                     prices_include_tax)  # fmt: skip
    basket = Basket(rules)
    basket.add(Product(Sku("A1"), "4000000000001", "Café crème 250 g, single estate beans", 549, "red"), 2)
    basket.add(Product(Sku("B2"), "4000000000002", "Kitchen towel", 199, "std"))
    basket.add(Product(Sku("C3"), "4000000000003", "Espresso machine", 129_999, "std"))
    return Sale.from_basket(basket, sale_id=SALE_ID, register="Till 1", cashier_id="c1",
                            created_at="2026-11-27T10:15:00+01:00", cash_tendered=200_000)  # fmt: skip


@pytest.mark.parametrize(("profile", "width"), [("generic-58mm", 32), ("generic-80mm", 48)])
@pytest.mark.parametrize("prices_include_tax", [True, False])
def test_a_receipt_fits_the_paper_and_keeps_amounts_right_aligned(
    tmp_path: Path, profile: str, width: int, prices_include_tax: bool
) -> None:
    setup = printer_setup(PrinterSettings("file:unused", profile=profile), tmp_path)
    assert setup.layout.width == width
    sale = big_sale(prices_include_tax)
    store = StoreHeader("Harbour Street Corner Market", ("12 Harbour Street, 48143 Münster, Germany",))
    rows = layout_receipt(sale, store, "Alexandra Morgenstern-Whitfield", setup.layout.width,
                          sale_code=setup.layout.sale_code)  # fmt: skip
    printer = open_printer(f"file:{tmp_path / 'printed'}", setup.format)
    printer.print_receipt(rows)

    [receipt] = decode_escpos((tmp_path / "printed").read_bytes())
    assert receipt.lines == rows
    text_lines = [line for line in receipt.lines if not line.qr]
    for line in text_lines:
        assert len(line.text) * (2 if line.big else 1) <= width, line  # double size takes two columns a character
    texts = [line.text for line in text_lines]
    for label, amount in (("Espresso machine", "1,299.99"), ("Kitchen towel", "1.99"), ("Cash", "2,000.00")):
        [row] = [t for t in texts if t.startswith(label)]
        assert len(row) == width
        assert row.endswith(" " + amount)
    [total] = [line for line in text_lines if line.text.startswith("TOTAL")]
    assert total.big
    assert total.bold
    assert len(total.text) * 2 == width
    assert total.text.endswith(" 1,312.96" if prices_include_tax else " 1,561.11")
    assert any(t.startswith("Café crème 250 g") and t.endswith("~ 10.98") for t in texts) is (width == 32)
    assert "".join(t for t in texts if t.startswith(("Sale", "9e0f"))).replace("Sale ", "") == SALE_ID
    assert printed_text(receipt)[-1] == f"[QR code: POS-SALE:{SALE_ID}]"


def test_an_80mm_lane_can_print_the_sale_id_as_a_code128_barcode(tmp_path: Path) -> None:
    setup = printer_setup(PrinterSettings("file:unused", profile="epson-tm-t88", receipt_barcode="code128"), tmp_path)
    rows = layout_receipt(big_sale(True), StoreHeader("Shop"), "Ana", setup.layout.width,
                          sale_code=setup.layout.sale_code)  # fmt: skip
    printer = open_printer(f"file:{tmp_path / 'printed'}", setup.format)
    printer.print_receipt(rows)
    [receipt] = decode_escpos((tmp_path / "printed").read_bytes())
    [code] = receipt.barcodes
    assert code.symbology == "CODE128"
    assert code.module == 2  # 255 modules x 2 = 510 of the TM-T88's 512 dots
    assert printed_text(receipt)[-1] == f"[barcode CODE128: {code.data}]"
    assert receipt.qr_codes == []
