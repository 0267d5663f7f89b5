"""Barcodes (GS k, GS h, GS w, GS H, GS f) and raster images (GS v 0): bytes and decoding.

Byte values are Epson's ESC/POS command reference; the CODE128 example is the reference's own
("No.123456": code set B for "No.", code set C for 12 34 56).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import (
    RasterImage,
    ReceiptFormat,
    barcode,
    barcode_modules,
    code128_data,
    ean13_data,
    encode_receipt,
    receipt_barcode,
)
from peripherals.escpos_decode import DecodedBarcode, DecodedImage, decode_escpos, printed_text
from peripherals.printer_logo import LogoUnavailable, load_logo
from pos_core.receipt import ReceiptRow, sale_barcode, sale_id_from_code

EPSON_NO_123456 = bytes.fromhex("1d 6b 49 0a 7b 42 4e 6f 2e 7b 43 0c 22 38")
"""GS k 73 10 {B N o . {C 12 34 56: Epson's CODE128 example."""


def test_code128_matches_the_epson_reference_example() -> None:
    assert code128_data("No.123456") == EPSON_NO_123456[4:]
    assert barcode("CODE128", "No.123456", height=0x7F, module=4) == (
        bytes.fromhex("1d 68 7f")  # GS h 127
        + bytes.fromhex("1d 77 04")  # GS w 4
        + bytes.fromhex("1d 48 02")  # GS H 2: digits below
        + bytes.fromhex("1d 66 00")  # GS f 0: in font A
        + EPSON_NO_123456
    )


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("1234", b"{C\x0c\x22"),  # all digits, even: set C throughout
        ("12345", b"{B1{C\x17\x2d"),  # odd: the first digit in set B
        ("AB12", b"{BAB12"),  # two digits are not worth a switch (it costs a symbol too)
        ("AB1234", b"{BAB{C\x0c\x22"),
        ("a{b", b"{Ba{{b"),  # a "{" is sent twice
    ],
)
def test_code128_chooses_code_sets(text: str, data: bytes) -> None:
    assert code128_data(text) == data


def test_code128_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ConfigurationError, match="printable ASCII only, not 'Café'"):
        code128_data("Café")
    with pytest.raises(ConfigurationError, match="at most 255 bytes"):
        code128_data("x" * 254)


def test_ean13_sends_twelve_digits_after_checking_the_thirteenth() -> None:
    assert barcode("EAN13", "4006381333931", height=162, module=3, hri="none") == (
        bytes.fromhex("1d 68 a2 1d 77 03 1d 48 00 1d 66 00") + b"\x1dk\x43\x0c" + b"400638133393"
    )
    assert ean13_data("400638133393") == b"400638133393"
    with pytest.raises(ConfigurationError) as caught:
        ean13_data("4006381333932")
    assert str(caught.value) == "The EAN-13 code 4006381333932 has a wrong check digit: it should end in 1."
    with pytest.raises(ConfigurationError, match="12 or 13 digits, not '40063813339a'"):
        ean13_data("40063813339a")


@pytest.mark.parametrize(("hri", "n"), [("none", 0), ("above", 1), ("below", 2), ("both", 3)])
def test_hri_positions(hri: str, n: int) -> None:
    assert barcode("CODE128", "1234", hri=hri, hri_font_b=True)[6:12] == bytes([0x1D, 0x48, n, 0x1D, 0x66, 1])  # type: ignore[arg-type]


def test_barcode_sizes_out_of_range_are_sentences() -> None:
    with pytest.raises(ConfigurationError, match="1 to 255 dots tall, not 0"):
        barcode("CODE128", "1234", height=0)
    with pytest.raises(ConfigurationError, match="2 to 6 dots wide, not 7"):
        barcode("CODE128", "1234", module=7)


def test_a_receipt_barcode_takes_the_widest_module_that_fits_else_becomes_a_qr_code() -> None:
    digits = sale_barcode("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    assert len(digits) == 40
    assert barcode_modules("CODE128", digits) == 255  # start, 20 pairs, check: 22 x 11, stop 13
    assert barcode_modules("EAN13", "4006381333931") == 95
    assert receipt_barcode("CODE128", digits, 576)[3:6] == b"\x1dw\x02"
    assert receipt_barcode("EAN13", "4006381333931", 576)[3:6] == b"\x1dw\x03"
    assert receipt_barcode("CODE128", digits, 384).startswith(b"\x1d(k")  # too wide for 58 mm


def test_barcodes_decode_to_the_rows_that_printed_them() -> None:
    rows = [
        ReceiptRow("Return this way"),
        ReceiptRow("0013433369256225103276604715586827271245", "center", barcode="CODE128"),
        ReceiptRow("4006381333931", barcode="EAN13"),
        ReceiptRow("No.123456{x}", "right", barcode="CODE128"),
        ReceiptRow("Bye"),
    ]
    [receipt] = decode_escpos(encode_receipt(rows, ReceiptFormat(dots=576)))
    assert receipt.lines == rows
    assert receipt.barcodes[0] == DecodedBarcode("CODE128", rows[1].text, 80, 2, "below")
    assert receipt.barcodes[1] == DecodedBarcode("EAN13", "4006381333931", 80, 3, "below")
    assert printed_text(receipt)[1:3] == [
        "[barcode CODE128: 0013433369256225103276604715586827271245]",
        "[barcode EAN13: 4006381333931]",
    ]


def test_a_barcode_sale_id_reads_back_as_the_sale() -> None:
    sale_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert sale_id_from_code(sale_barcode(sale_id)) == sale_id
    assert sale_id_from_code(f"POS-SALE:{sale_id}") == sale_id
    assert sale_barcode("S-0001") == "POS-SALE:S-0001"  # not a UUID: the QR code's text
    assert sale_id_from_code("4006381333931") is None


def test_raster_image_header_and_bit_packing() -> None:
    x, o = True, False
    image = RasterImage.from_rows(
        [
            [x, o, x, o, x, o, x, o, x, x],  # 10 dots: two bytes a row, the last 6 bits white padding
            [o, o, o, o, o, o, o, x, o, x],
            [x] * 10,
        ]
    )
    assert (image.width, image.height, image.row_bytes) == (10, 3, 2)
    assert image.command() == (
        b"\x1dv0\x00"  # GS v 0, m = 0 normal size
        + bytes([2, 0, 3, 0])  # xL xH: 2 bytes a row; yL yH: 3 rows
        + bytes([0b10101010, 0b11000000, 0b00000001, 0b01000000, 0xFF, 0b11000000])
    )


def test_raster_image_sizes_need_two_header_bytes_each() -> None:
    image = RasterImage(8 * 300, 260, bytes(300 * 260))
    assert image.command()[:8] == b"\x1dv0\x00" + bytes([300 & 0xFF, 1, 260 & 0xFF, 1])
    with pytest.raises(ConfigurationError):
        RasterImage(8, 2, b"\x00")


def test_the_logo_prints_centred_before_the_first_row_and_decodes_as_an_image() -> None:
    logo = RasterImage.from_rows([[True] * 16, [False] * 16])
    rows = [ReceiptRow("Corner Shop", "center", bold=True, big=True), ReceiptRow("left again")]
    data = encode_receipt(rows, ReceiptFormat(logo=logo))
    assert data.startswith(b"\x1b@\x1bt\x13" + b"\x1ba\x01" + logo.command() + b"\x1bE\x01\x1d!\x11Corner Shop\n")
    [receipt] = decode_escpos(data)
    assert receipt.lines == rows
    assert receipt.images == [DecodedImage(16, 2, before_line=0, align="center")]
    assert printed_text(receipt) == ["[image 16 x 2 dots]", "Corner Shop", "left again"]


def test_font_b_is_chosen_at_the_start_of_each_job() -> None:
    assert encode_receipt([ReceiptRow("x")], ReceiptFormat(font_b=True)).startswith(b"\x1b@\x1bt\x13\x1bM\x01x\n")


def test_a_png_logo_becomes_black_and_white_dots(tmp_path: Path) -> None:
    picture = Image.new("RGBA", (10, 2), (255, 255, 255, 0))  # transparent: paper
    for x in (0, 2, 9):
        picture.putpixel((x, 0), (0, 0, 0, 255))
    picture.putpixel((1, 1), (100, 100, 100, 255))  # dark grey prints
    picture.putpixel((2, 1), (200, 200, 200, 255))  # light grey does not
    picture.putpixel((3, 1), (0, 0, 0, 0))  # black but fully transparent: paper
    picture.save(tmp_path / "logo.png")
    logo = load_logo(tmp_path / "logo.png", 576)
    assert logo == RasterImage(10, 2, bytes([0b10100000, 0b01000000, 0b01000000, 0b00000000]))


def test_a_wide_logo_is_narrowed_to_the_paper_keeping_its_shape(tmp_path: Path) -> None:
    Image.new("1", (1152, 200), 0).save(tmp_path / "wide.png")
    logo = load_logo(tmp_path / "wide.png", 576)
    assert (logo.width, logo.height) == (576, 100)
    assert set(logo.data) == {0xFF}


def test_a_logo_that_is_not_an_image_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_text("not a picture")
    with pytest.raises(LogoUnavailable) as caught:
        load_logo(tmp_path / "logo.png", 576)
    assert str(caught.value) == (
        f"The receipt logo {tmp_path / 'logo.png'} cannot be used (not an image Pillow can read); "
        "receipts print without it. Use a PNG file."
    )
