from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_core.errors import CurrencyMismatch, PosError
from pos_core.money import Money, format_amount, format_money, parse_amount, percent_of, rate_text

amounts = st.integers(min_value=-(10**12), max_value=10**12)


@given(amounts, amounts, amounts)
def test_addition_is_associative_and_subtraction_undoes_it(a: int, b: int, c: int) -> None:
    x, y, z = Money(a, "EUR"), Money(b, "EUR"), Money(c, "EUR")
    assert (x + y) + z == x + (y + z)
    assert (x + y) - y == x
    assert (x + y) + (-y) == x


@given(amounts, st.integers(min_value=-1000, max_value=1000))
def test_multiplying_by_a_quantity_is_repeated_addition(a: int, q: int) -> None:
    assert Money(a, "EUR") * q == Money(a * q, "EUR")
    assert q * Money(a, "EUR") == Money(a * q, "EUR")


def test_currencies_never_mix() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") < Money(1, "USD")


@pytest.mark.parametrize("bad", [1.5, True, "100"])
def test_money_refuses_anything_but_integers(bad: object) -> None:
    with pytest.raises(PosError):
        Money(bad, "EUR")  # type: ignore[arg-type]
    with pytest.raises(PosError):
        _ = Money(100, "EUR") * bad  # type: ignore[operator]


def test_unknown_currency_is_refused_with_a_sentence() -> None:
    with pytest.raises(PosError, match="ISO 4217"):
        Money(1, "XXQ")


@given(amounts)
def test_format_and_parse_round_trip(a: int) -> None:
    text = format_amount(a, "EUR").replace(",", "")
    assert parse_amount(text, "EUR") == a


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "EUR", "€12.34"),
        (-5, "EUR", "-€0.05"),
        (123456, "USD", "$1,234.56"),
        (500, "JPY", "¥500"),
        (1234, "CHF", "CHF 12.34"),
        (1005, "KWD", "KWD 1.005"),
    ],
)
def test_format_money(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text


@pytest.mark.parametrize(("typed", "minor"), [("20", 2000), ("20.5", 2050), ("20,50", 2050), (" 0.01 ", 1)])
def test_parse_what_a_cashier_types(typed: str, minor: int) -> None:
    assert parse_amount(typed, "EUR") == minor


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "NaN", "Infinity", "1e400x"])
def test_parse_refuses_non_amounts(typed: str) -> None:
    with pytest.raises(PosError):
        parse_amount(typed, "EUR")


def test_percent_of_rounds_half_up() -> None:
    assert percent_of(250, 10_000) == 3  # 2.5 -> 3
    assert percent_of(249, 10_000) == 2
    assert percent_of(-250, 10_000) == -3  # half away from zero, symmetric for refunds


def test_rate_text() -> None:
    assert rate_text(190_000) == "19%"
    assert rate_text(88_750) == "8.875%"
    assert rate_text(0) == "0%"
