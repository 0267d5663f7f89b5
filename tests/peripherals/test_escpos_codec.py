"""Byte-exact ESC/POS output, checked against the values in Epson's command reference."""

from __future__ import annotations

import pytest

from peripherals.errors import ConfigurationError
from peripherals.escpos_codec import (
    ReceiptFormat,
    align,
    bold,
    cut,
    drawer_kick,
    encode_receipt,
    encode_text,
    feed,
    select_code_page,
    size,
)
from pos_core.receipt import ReceiptRow


def test_single_commands_match_epson_reference() -> None:
    assert align("left") == bytes.fromhex("1b6100")
    assert align("center") == bytes.fromhex("1b6101")
    assert align("right") == bytes.fromhex("1b6102")
    assert bold(True) == bytes.fromhex("1b4501")
    assert bold(False) == bytes.fromhex("1b4500")
    assert size(True) == bytes.fromhex("1d2111")
    assert size(False) == bytes.fromhex("1d2100")
    assert feed(3) == bytes.fromhex("1b6403")
    assert cut(partial=True) == bytes.fromhex("1d5601")
    assert cut(partial=False) == bytes.fromhex("1d5600")
    assert select_code_page(19) == bytes.fromhex("1b7413")


@pytest.mark.parametrize(
    ("pin", "on_ms", "off_ms", "expected"),
    [
        (2, 100, 100, "1b70003232"),
        (5, 100, 100, "1b70013232"),
        (2, 50, 500, "1b700019fa"),
        (2, 3, 510, "1b700001ff"),  # 3 ms rounds down to one 2 ms unit
    ],
)
def test_drawer_kick_bytes(pin: int, on_ms: int, off_ms: int, expected: str) -> None:
    assert drawer_kick(pin, on_ms, off_ms) == bytes.fromhex(expected)


@pytest.mark.parametrize(("pin", "on_ms", "off_ms"), [(1, 100, 100), (3, 100, 100), (2, 0, 100), (2, 100, 512)])
def test_drawer_kick_refuses_what_esc_p_cannot_say(pin: int, on_ms: int, off_ms: int) -> None:
    with pytest.raises(ConfigurationError, match=r"pin 2 or pin 5|ms"):
        drawer_kick(pin, on_ms, off_ms)


def test_euro_and_accents_use_pc858() -> None:
    assert encode_text("€ 3,50 Café Straße") == b"\xd5 3,50 Caf\x82 Stra\xe1e"


def test_control_characters_in_text_cannot_inject_commands() -> None:
    # A product name with ESC p would otherwise open the drawer; GS V would cut.
    assert encode_text("Bad\x1bp\x00\x19\x19name\x1dV\x01") == b"Bad?p???name?V?"


def test_characters_outside_the_code_page_print_as_question_marks() -> None:
    assert encode_text("日本") == b"??"


def test_whole_receipt_bytes() -> None:
    rows = [
        ReceiptRow("Corner Shop", "center", bold=True, big=True),
        ReceiptRow("1 High St", "center"),
        ReceiptRow("Milk        €1.20"),
        ReceiptRow("TOTAL", "right", bold=True),
    ]
    expected = (
        b"\x1b@"  # ESC @ initialise
        b"\x1bt\x13"  # ESC t 19: PC858
        b"\x1ba\x01\x1bE\x01\x1d!\x11Corner Shop\n"
        b"\x1bE\x00\x1d!\x001 High St\n"
        b"\x1ba\x00Milk        \xd51.20\n"
        b"\x1ba\x02\x1bE\x01TOTAL\n"
        b"\x1ba\x00\x1bE\x00"  # back to the state ESC @ leaves
        b"\x1bd\x04"  # feed 4 lines past the cutter
        b"\x1dV\x01"  # GS V 1: partial cut
    )
    assert encode_receipt(rows) == expected


def test_format_options_change_feed_cut_and_page() -> None:
    data = encode_receipt([ReceiptRow("x")], ReceiptFormat(code_page=16, feed_before_cut=0, partial_cut=False))
    assert data == b"\x1b@\x1bt\x10x\n\x1bd\x00\x1dV\x00"


@pytest.mark.parametrize("kwargs", [{"code_page": 99}, {"feed_before_cut": 256}, {"feed_before_cut": -1}])
def test_bad_format_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        ReceiptFormat(**kwargs)  # type: ignore[arg-type]
