"""Inventory rules: bucket effects, levels, demand per SKU, quantity checks, the count rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_core.errors import InvalidQuantity, InvalidTimestamp
from pos_core.inventory import (
    MAX_QUANTITY,
    ROUTES,
    Bucket,
    Level,
    Reason,
    StockLine,
    absorbed_by,
    allocate,
    check_count_time,
    check_lines,
    check_quantity,
    count_route,
    count_supersedes,
    demand_by_sku,
    effect,
    expected_at,
    grantable,
    iso,
    resolve_safety_stock,
    utc_timestamp,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_each_reason_moves_the_level_as_a_shopkeeper_expects() -> None:
    moved = {reason: effect(*ROUTES[reason], 3) for reason in ROUTES}
    assert (moved[Reason.RECEIVE].on_hand, moved[Reason.RECEIVE].reserved) == (3, 0)
    assert (moved[Reason.SALE].on_hand, moved[Reason.SALE].reserved) == (-3, 0)
    assert (moved[Reason.RETURN].on_hand, moved[Reason.RETURN].reserved) == (3, 0)
    # A reservation stays on the shelf: on hand keeps it, reserved grows.
    assert (moved[Reason.RESERVATION].on_hand, moved[Reason.RESERVATION].reserved) == (0, 3)
    assert (moved[Reason.RELEASE].on_hand, moved[Reason.RELEASE].reserved) == (0, -3)
    assert (moved[Reason.EXPIRY].on_hand, moved[Reason.EXPIRY].reserved) == (0, -3)
    # Committing: the goods leave, so both fall.
    assert (moved[Reason.COMMIT].on_hand, moved[Reason.COMMIT].reserved) == (-3, -3)
    assert moved[Reason.TRANSFER_OUT].on_hand == -3
    assert moved[Reason.TRANSFER_IN].on_hand == 3
    assert moved[Reason.DAMAGE].on_hand == moved[Reason.SHRINK].on_hand == -3


@given(st.lists(st.tuples(st.sampled_from(sorted(ROUTES)), st.integers(1, 50)), max_size=30))
def test_a_level_is_the_sum_of_its_movements_in_any_order(moves: list[tuple[Reason, int]]) -> None:
    forward = Level(0, 0, 0)
    for reason, quantity in moves:
        forward = forward.after(effect(*ROUTES[reason], quantity))
    backward = Level(0, 0, 0)
    for reason, quantity in reversed(moves):
        backward = backward.after(effect(*ROUTES[reason], quantity))
    assert forward == backward


def test_available_and_shortfall() -> None:
    assert Level(10, 3, 2).available == 5
    assert Level(10, 3, 2).shortfall == 0
    assert Level(2, 5, 0).shortfall == 3
    assert Level(-4, 0, 0).shortfall == 0  # below zero with nothing promised puts no one at risk
    assert Level(-4, 2, 0).shortfall == 2  # never more than is reserved


def test_safety_stock_falls_back_from_product_to_category_to_store() -> None:
    assert resolve_safety_stock(4, 2, 1) == 4
    assert resolve_safety_stock(0, 2, 1) == 0  # a product may say "none" against its category
    assert resolve_safety_stock(None, 2, 1) == 2
    assert resolve_safety_stock(None, None, 1) == 1


def test_demand_is_summed_per_sku_in_sku_order() -> None:
    lines = [StockLine("B", 2), StockLine("A", 1), StockLine("B", 3)]
    assert list(demand_by_sku(lines).items()) == [("A", 1), ("B", 5)]


@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(1, 9)), min_size=1, max_size=8),
    st.dictionaries(st.sampled_from("ABC"), st.integers(0, 40)),
)
def test_allocation_never_gives_a_line_more_than_it_asked_nor_a_sku_more_than_granted(
    raw: list[tuple[str, int]], available: dict[str, int]
) -> None:
    lines = [StockLine(sku, q) for sku, q in raw]
    granted = {sku: grantable(q, available.get(sku, 0)) for sku, q in demand_by_sku(lines).items()}
    shares = allocate(lines, granted)
    assert all(0 <= share <= line.quantity for share, line in zip(shares, lines, strict=True))
    for sku, total in granted.items():
        assert sum(s for s, ln in zip(shares, lines, strict=True) if ln.sku == sku) == total
    # Earlier lines fill first.
    for sku in granted:
        mine = [(s, ln.quantity) for s, ln in zip(shares, lines, strict=True) if ln.sku == sku]
        partial = [i for i, (s, q) in enumerate(mine) if s < q]
        assert all(s == 0 for s, _ in mine[partial[0] + 1 :]) if partial else True


def test_grantable_is_never_negative() -> None:
    assert grantable(5, -3) == 0
    assert grantable(5, 2) == 2
    assert grantable(5, 9) == 5


@pytest.mark.parametrize("bad", [0, -1, MAX_QUANTITY + 1, 1.5, "3", True, None])
def test_quantities_must_be_whole_and_in_range(bad: object) -> None:
    with pytest.raises(InvalidQuantity, match=r"soap must be a whole number from 1 to"):
        check_quantity(bad, "soap")


def test_a_count_may_be_zero_but_lines_are_checked_one_by_one() -> None:
    assert check_quantity(0, "soap", allow_zero=True) == 0
    with pytest.raises(InvalidQuantity, match="no lines"):
        check_lines([], "order")
    with pytest.raises(InvalidQuantity, match=r"SKU-2 \(line 2 of the order\)"):
        check_lines([StockLine("SKU-1", 1), StockLine("SKU-2", -1)], "order")
    with pytest.raises(InvalidQuantity, match="Line 1 of the order needs a SKU"):
        check_lines([StockLine("", 1)], "order")


def test_times_are_stored_in_utc_so_they_sort_as_text() -> None:
    assert utc_timestamp("2026-11-27T10:15:00+01:00") == "2026-11-27T09:15:00.000000+00:00"
    assert utc_timestamp("2026-11-27T09:15:00Z") == "2026-11-27T09:15:00.000000+00:00"
    with pytest.raises(InvalidTimestamp, match="no time zone"):
        utc_timestamp("2026-11-27T09:15:00")
    with pytest.raises(InvalidTimestamp, match="not an ISO 8601"):
        utc_timestamp("yesterday")
    with pytest.raises(InvalidTimestamp, match="out of range"):
        utc_timestamp("0001-01-01T00:30:00+01:00")


def test_a_count_cannot_lie_in_the_future_or_long_ago() -> None:
    # A fast handheld's clock: counted now, else sales rung up in between would pass as counted.
    assert check_count_time((NOW + timedelta(minutes=4)).isoformat(), NOW) == iso(NOW)
    assert check_count_time(None, NOW) == iso(NOW)
    assert check_count_time((NOW - timedelta(days=6)).isoformat(), NOW) == iso(NOW - timedelta(days=6))
    with pytest.raises(InvalidTimestamp, match="in the future"):
        check_count_time((NOW + timedelta(hours=1)).isoformat(), NOW)
    with pytest.raises(InvalidTimestamp, match="more than 7 days ago; check the date"):
        check_count_time((NOW - timedelta(days=8)).isoformat(), NOW)


def test_count_rule() -> None:
    # The books said 10 at the count; 2 sold since. Counted 7: 3 missing, and 5 on hand now.
    expected = expected_at(8, [-2])
    assert expected == 10
    assert count_route(7 - expected) == (Bucket.ON_HAND, Bucket.ADJUSTMENT, 3)
    assert count_route(12 - expected) == (Bucket.ADJUSTMENT, Bucket.ON_HAND, 2)
    assert count_route(0) is None
    assert count_supersedes("2026-11-27T10:00", None)
    assert count_supersedes("2026-11-27T10:00", "2026-11-27T09:00")
    assert not count_supersedes("2026-11-27T09:00", "2026-11-27T10:00")
    assert not count_supersedes("2026-11-27T10:00", "2026-11-27T10:00")


def test_a_late_synced_sale_is_absorbed_by_the_first_count_after_it() -> None:
    counts = [("c2", "2026-11-27T11:00"), ("c1", "2026-11-27T10:00")]
    assert absorbed_by("2026-11-27T09:30", counts) == "c1"
    assert absorbed_by("2026-11-27T10:30", counts) == "c2"
    assert absorbed_by("2026-11-27T11:30", counts) is None
    assert absorbed_by("2026-11-27T10:00", counts) == "c2"  # at the very moment of a count: after it
