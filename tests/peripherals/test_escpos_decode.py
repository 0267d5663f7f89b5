"""Decoding ESC/POS back to what a customer would read."""

from __future__ import annotations

from peripherals.escpos_codec import drawer_kick, encode_receipt
from peripherals.escpos_decode import DecodedImage, DecodedLine, DrawerKick, decode_escpos
from pos_core.receipt import ReceiptRow


def test_real_receipt_round_trips_line_by_line(receipt_rows: list[ReceiptRow]) -> None:
    [receipt] = decode_escpos(encode_receipt(receipt_rows))
    assert receipt.cut
    assert receipt.partial_cut
    assert receipt.fed_lines == 4
    assert receipt.lines == receipt_rows
    assert receipt.skipped == []


def test_real_receipt_content(receipt_rows: list[ReceiptRow]) -> None:
    [receipt] = decode_escpos(encode_receipt(receipt_rows))
    texts = receipt.texts
    assert texts[0] == "Corner Shop"
    assert receipt.lines[0] == DecodedLine("Corner Shop", "center", bold=True, big=True)
    assert "Münster" in texts
    assert any(t.startswith("Café crème 250 g") and t.endswith("10.98") for t in texts)
    assert "  2 x 5.49" in texts
    total = next(line for line in receipt.lines if line.text.startswith("TOTAL EUR"))
    assert total.bold
    assert total.big
    assert total.text.endswith("12.97")
    assert texts[-2] == "Sale S-0001"
    assert texts[-1] == "POS-SALE:S-0001"  # the QR code row
    assert receipt.qr_codes == ["POS-SALE:S-0001"]


def test_two_jobs_split_at_cuts_and_kick_is_its_own() -> None:
    data = encode_receipt([ReceiptRow("one")]) + encode_receipt([ReceiptRow("two")]) + drawer_kick(5, 60, 120)
    first, second, kick = decode_escpos(data)
    assert first.texts == ["one"]
    assert second.texts == ["two"]
    assert first.cut
    assert second.cut
    assert not kick.cut
    assert kick.lines == []
    assert kick.drawer_kicks == [DrawerKick(pin=5, on_ms=60, off_ms=120)]


def test_text_without_cut_is_a_final_uncut_receipt() -> None:
    [receipt] = decode_escpos(b"\x1b@hello\nworld")
    assert receipt.texts == ["hello", "world"]
    assert not receipt.cut


def test_unknown_and_unmodelled_commands_are_skipped() -> None:
    data = (
        b"\x1b@"
        b"\x1b-\x01under\n"  # ESC - 1 underline: 3 bytes, skipped
        b"\x1d(k\x03\x001C\x03"  # GS ( k pL pH ...: QR size, 5 + 3 bytes
        b"\x1dk\x02123456789012\x00"  # GS k 2 EAN13 NUL-terminated
        b"\x1dv0\x00\x01\x00\x02\x00\xff\xff"  # GS v 0 raster 1 byte x 2 dots
        b"\x10\x04\x01"  # DLE EOT 1 status request
        b"\x1b\x7f"  # unknown ESC command
        b"\x1b!\x38big bold\n"  # ESC ! : emphasised + double height/width
        b"\x1dV\x42\x03"  # GS V 66 3: feed and partial cut
    )
    [receipt] = decode_escpos(data)
    assert receipt.texts == ["under", "1234567890128", "big bold"]  # the barcode, with the check digit it prints
    assert receipt.lines[1].barcode == "EAN13"
    assert receipt.images == [DecodedImage(width=8, height=2, before_line=2)]
    assert receipt.lines[2].bold
    assert receipt.lines[2].big
    assert receipt.partial_cut
    assert b"\x1b\x7f" in receipt.skipped


def test_truncated_and_garbage_input_never_raises() -> None:
    for data in (b"\x1b", b"\x1bp\x00", b"\x1d", b"\x1dV", b"\x1b*\x21\xff\xff", b"\x10", b"\x1c(", bytes(range(256))):
        decode_escpos(data)  # must not raise
    assert decode_escpos(b"") == []


def test_code_page_selects_the_decoding() -> None:
    [receipt] = decode_escpos(b"\x1b@\x1bt\x10\x80\n\x1bt\x13\xd5\n\x1bt\x00\x9c\n")
    assert receipt.texts == ["€", "€", "£"]
