"""Scanner bursts are told from typing by timing, length and terminator; AIM ids are stripped."""

from __future__ import annotations

import pytest

from peripherals.wedge import KeyStroke, Scan, WedgeBuffer, WedgeRules, detect_scan, split_aim


def burst(text: str, gap_ms: int = 8, start: int = 1000) -> list[KeyStroke]:
    return [KeyStroke(ch, start + i * gap_ms) for i, ch in enumerate(text)]


def test_fast_burst_with_enter_is_a_scan() -> None:
    assert detect_scan(burst("4006381333931\r")) == Scan("4006381333931")


def test_person_typing_the_same_digits_is_not_a_scan() -> None:
    assert detect_scan(burst("4006381333931\r", gap_ms=120)) is None


def test_one_slow_gap_spoils_the_burst() -> None:
    keys = burst("40063813\r")
    keys[4] = KeyStroke(keys[4].char, keys[3].at_ms + 31)
    assert detect_scan(keys) is None


def test_gap_at_the_limit_still_counts() -> None:
    assert detect_scan(burst("12345678\n", gap_ms=30)) == Scan("12345678")


@pytest.mark.parametrize("pin", ["1234\r", "123456\r"])
def test_a_pin_typed_quickly_is_not_a_scan(pin: str) -> None:
    # A quick typist (or a keypad) reaches 40-60 ms between keys; even at 20 ms a PIN is too short.
    assert detect_scan(burst(pin, gap_ms=45)) is None
    assert detect_scan(burst(pin, gap_ms=20)) is None


@pytest.mark.parametrize("text", ["123456\r", "\r", "12345678", "1234\r5678\r"])
def test_too_short_missing_or_inner_terminator_is_not_a_scan(text: str) -> None:
    assert detect_scan(burst(text)) is None


def test_terminator_can_be_optional() -> None:
    rules = WedgeRules(require_terminator=False)
    assert detect_scan(burst("12345678"), rules) == Scan("12345678")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("]E04006381333931\r", Scan("4006381333931", "]E0", "EAN/UPC")),
        ("]E455123457\r", Scan("55123457", "]E4", "EAN-8")),
        ("]C1010950110153000317\r", Scan("010950110153000317", "]C1", "GS1-128")),
        ("]d2010950110153000317\t", Scan("010950110153000317", "]d2", "GS1 DataMatrix")),
        ("]Q1https://x.test/1\r", Scan("https://x.test/1", "]Q1", "QR Code")),
        ("]Z9ABCDEFG\r", Scan("ABCDEFG", "]Z9", None)),
    ],
)
def test_aim_identifier_is_stripped_and_named(text: str, expected: Scan) -> None:
    assert detect_scan(burst(text)) == expected


def test_aim_prefix_does_not_count_towards_length() -> None:
    assert detect_scan(burst("]E0123\r")) is None


def test_split_aim_leaves_ordinary_data_alone() -> None:
    assert split_aim("]E0123") == ("]E0", "123")
    assert split_aim("]1234") == (None, "]1234")
    assert split_aim("4006381333931") == (None, "4006381333931")


def test_buffer_finds_a_scan_after_typing() -> None:
    buffer = WedgeBuffer()
    typed = burst("ab", gap_ms=200, start=0)
    scanned = burst("]E04006381333931\r", start=1000)
    results = [buffer.feed(key) for key in typed + scanned]
    assert results[:-1] == [None] * (len(results) - 1)
    assert results[-1] == Scan("4006381333931", "]E0", "EAN/UPC")


def test_buffer_ignores_enter_typed_by_a_person() -> None:
    buffer = WedgeBuffer()
    assert [buffer.feed(k) for k in burst("12345678\r", gap_ms=150)] == [None] * 9
