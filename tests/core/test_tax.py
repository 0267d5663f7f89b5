from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_core.errors import PosError
from pos_core.money import PPM
from pos_core.tax import TaxClass, compute_tax, tax_included, tax_on_top

gross = st.integers(min_value=0, max_value=10**11)
rates = st.integers(min_value=0, max_value=PPM)


@given(gross, rates)
def test_included_tax_is_the_exact_share_rounded_to_the_nearest_cent(g: int, r: int) -> None:
    exact = Fraction(g * r, PPM + r)
    tax = tax_included(g, r)
    assert abs(tax - exact) <= Fraction(1, 2)
    assert 0 <= tax <= g


@given(gross, rates)
def test_tax_on_top_is_the_exact_amount_rounded_to_the_nearest_cent(n: int, r: int) -> None:
    exact = Fraction(n * r, PPM)
    assert abs(tax_on_top(n, r) - exact) <= Fraction(1, 2)


@given(gross, rates)
def test_net_plus_tax_round_trips_for_exclusive_prices(n: int, r: int) -> None:
    # The gross a customer pays for net n, then its included tax, is never off by more than a cent.
    assert abs(tax_included(n + tax_on_top(n, r), r) - tax_on_top(n, r)) <= 1


def test_known_figures() -> None:
    assert tax_included(119, 190_000) == 19
    assert tax_included(100, 70_000) == 7  # 6.54 -> 7
    assert tax_on_top(1000, 88_750) == 89  # 88.75 -> 89
    assert tax_on_top(10, 50_000) == 1  # 0.5 -> 1, half up


def test_tax_is_computed_per_class_over_the_summed_amount() -> None:
    classes = {"std": TaxClass("std", "Standard", 190_000), "red": TaxClass("red", "Reduced", 70_000)}
    lines = compute_tax({"std": 3 * 33, "red": 100}, classes, prices_include_tax=True)
    assert [(t.code, t.taxable, t.tax) for t in lines] == [("red", 100, 7), ("std", 99, 16)]


def test_unknown_class_and_bad_rates_are_refused() -> None:
    with pytest.raises(PosError, match="not configured"):
        compute_tax({"zero": 1}, {}, prices_include_tax=True)
    with pytest.raises(PosError):
        TaxClass("x", "x", PPM + 1)
    with pytest.raises(PosError):
        TaxClass("x", "x", -1)
