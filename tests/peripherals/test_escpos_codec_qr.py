"""Receipts carry the sale's QR code, printed natively (Epson GS ( k) through python-escpos."""

from __future__ import annotations

from peripherals.escpos_codec import encode_receipt, qr_code
from peripherals.escpos_decode import decode_escpos
from pos_core.receipt import ReceiptRow


def test_qr_code_bytes_are_epsons_gs_paren_k_sequence() -> None:
    data = "POS-SALE:1234"
    expected = (
        b"\x1d(k\x04\x001A2\x00"  # fn 65: model 2
        + b"\x1d(k\x03\x001C\x04"  # fn 67: module size 4
        + b"\x1d(k\x03\x001E0"  # fn 69: error correction L
        + b"\x1d(k"
        + bytes([len(data) + 3, 0])
        + b"1P0"
        + data.encode()  # fn 80: store the data
        + b"\x1d(k\x03\x001Q0"  # fn 81: print it
        + b"\n"
    )
    assert qr_code(data) == expected


def test_a_qr_row_decodes_back_to_the_same_row() -> None:
    rows = [ReceiptRow("Thanks"), ReceiptRow("POS-SALE:abc", "center", qr=True), ReceiptRow("Bye", "center")]
    (receipt,) = decode_escpos(encode_receipt(rows))
    assert receipt.qr_codes == ["POS-SALE:abc"]
    assert receipt.lines == rows
    assert receipt.cut
