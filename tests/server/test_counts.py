"""Physical counts are absolute and timestamped; a sale made before a count but synced after it
is recorded, not subtracted twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from pos_core.inventory import Level, iso
from store_server.errors import QuantityRefused, TimestampRefused
from store_server.usecases.clock import utc_now
from store_server.usecases.counts import Count, record_count
from store_server.usecases.stock import ledger_level
from store_server.usecases.transfers import TransferIn, TransferOut, transfer_in, transfer_out
from tests.server.inventory_support import BACKROOM, MANAGER, Shop, lines, rid, shop

__all__ = ["shop"]


def _ago(minutes: float) -> str:
    return iso(utc_now() - timedelta(minutes=minutes))


def test_a_count_sets_the_shelf_to_what_was_counted(shop: Shop) -> None:
    result = shop.write(record_count, Count(rid(), MANAGER, _ago(0), lines(("SKU-0001", 7), ("SKU-0003", 0))))
    assert [(ln.sku, ln.expected, ln.counted, ln.delta) for ln in result.lines] == [
        ("SKU-0001", 10, 7, -3),
        ("SKU-0003", 3, 0, -3),
    ]
    assert shop.level("SKU-0001").on_hand == 7
    assert shop.level("SKU-0003").on_hand == 0
    loss = shop.movements("SKU-0001")[-1]
    assert (loss.reason, loss.from_bucket, loss.to_bucket, loss.quantity) == ("count", "on_hand", "adjustment", 3)
    assert (loss.document_type, loss.document_id) == ("count", result.count_id)


def test_a_sale_made_before_the_count_but_synced_after_it_is_not_subtracted_twice(shop: Shop) -> None:
    made_at = _ago(10)  # the till sold 2 while offline...
    shop.write(record_count, Count(rid(), MANAGER, _ago(5), lines(("SKU-0001", 8))))  # ...the count saw 8...
    accepted = shop.sell(("SKU-0001", 2), created_at=made_at)  # ...then the till came back online.
    assert shop.level("SKU-0001").on_hand == 8
    sale, correction = shop.movements("SKU-0001")[-2:]
    assert (sale.reason, sale.document_id, sale.quantity) == ("sale", accepted.sale_id, 2)
    assert sale.absorbed_by_count is not None
    assert (correction.reason, correction.from_bucket, correction.to_bucket) == ("count", "adjustment", "on_hand")
    assert correction.quantity == 2
    assert correction.actor == "system:count"
    # A sale made after the count does come off.
    shop.sell(("SKU-0001", 1), created_at=_ago(1))
    assert shop.level("SKU-0001").on_hand == 7
    with shop.db.read() as s:
        assert ledger_level(s, "SKU-0001", "main") == shop.level("SKU-0001")


def test_a_count_keyed_in_late_leaves_later_sales_on_top(shop: Shop) -> None:
    counted_at = _ago(30)
    shop.sell(("SKU-0001", 3), created_at=_ago(20))  # sold after the count was made
    result = shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 9))))
    assert (result.lines[0].expected, result.lines[0].delta) == (10, -1)
    assert shop.level("SKU-0001").on_hand == 6  # 9 counted, 3 sold since


def test_an_older_count_than_one_applied_changes_nothing(shop: Shop) -> None:
    shop.write(record_count, Count(rid(), MANAGER, _ago(5), lines(("SKU-0002", 4))))
    stale = shop.write(record_count, Count(rid(), MANAGER, _ago(15), lines(("SKU-0002", 1))))
    assert stale.lines[0].status == "superseded"
    assert stale.lines[0].delta == 0
    assert shop.level("SKU-0002") == Level(4, 0, 0)


def test_counts_are_checked(shop: Shop) -> None:
    before = shop.fingerprint()
    with pytest.raises(TimestampRefused, match="in the future"):
        shop.write(record_count, Count(rid(), MANAGER, iso(utc_now() + timedelta(hours=2)), lines(("SKU-0001", 1))))
    with pytest.raises(TimestampRefused, match="no time zone"):
        shop.write(record_count, Count(rid(), MANAGER, "2026-11-27T09:00:00", lines(("SKU-0001", 1))))
    with pytest.raises(QuantityRefused, match="appears twice"):
        shop.write(record_count, Count(rid(), MANAGER, _ago(1), lines(("SKU-0001", 1), ("SKU-0001", 2))))
    with pytest.raises(QuantityRefused, match="from 0 to"):
        shop.write(record_count, Count(rid(), MANAGER, _ago(1), lines(("SKU-0001", -1))))
    assert shop.fingerprint() == before


def test_a_late_count_takes_each_skus_own_later_movements_along_the_time_index(shop: Shop) -> None:
    counted_at = _ago(30)
    shop.sell(("SKU-0001", 2), created_at=_ago(20))  # after the count: counted SKU
    shop.sell(("SKU-0003", 1), created_at=_ago(15))  # after the count: a SKU not counted
    shop.sell(("SKU-0002", 1), created_at=_ago(40))  # before the count
    statements: list[tuple[str, object]] = []

    def seen(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "occurred_at >" in statement:
            statements.append((statement, parameters))

    event.listen(shop.db.engine, "before_cursor_execute", seen)
    try:
        result = shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 9), ("SKU-0002", 4))))
    finally:
        event.remove(shop.db.engine, "before_cursor_execute", seen)
    assert [(ln.sku, ln.expected, ln.delta) for ln in result.lines] == [("SKU-0001", 10, -1), ("SKU-0002", 4, 0)]
    assert shop.level("SKU-0001").on_hand == 7  # 9 counted, 2 sold since
    assert shop.level("SKU-0002").on_hand == 4
    assert len(statements) == 1  # once for the whole count, not once a line
    if shop.db.is_sqlite:  # PostgreSQL plans a table this small as a scan, whatever its indexes
        statement, parameters = statements[0]
        with shop.db.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()  # type: ignore[arg-type]
        assert any("ix_stock_movements_occurred_at" in str(row[-1]) for row in plan), plan


def test_a_late_count_takes_only_its_own_locations_movements(shop: Shop) -> None:
    counted_at = _ago(30)
    transfer = rid()  # after the count: 6 leave main (counted) and arrive in the back room (not)
    shop.write(transfer_out, TransferOut(transfer, MANAGER, "main", BACKROOM, lines(("SKU-0001", 6))))
    shop.write(transfer_in, TransferIn(rid(), MANAGER, transfer, lines(("SKU-0001", 6))))
    result = shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 10))))
    assert (result.lines[0].expected, result.lines[0].delta) == (10, 0)
    assert shop.level("SKU-0001") == Level(4, 0, 0)
    assert shop.level("SKU-0001", BACKROOM) == Level(6, 0, 0)


def test_a_sale_made_at_the_very_moment_of_the_count_is_after_it_whichever_arrives_first(shop: Shop) -> None:
    counted_at = _ago(10)
    shop.sell(("SKU-0001", 1), created_at=counted_at)  # recorded before the count, at its time
    result = shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 9))))
    assert (result.lines[0].expected, result.lines[0].delta) == (10, -1)
    assert shop.level("SKU-0001").on_hand == 8  # 9 counted, the sale on top

    shop.write(record_count, Count(rid(), MANAGER, counted_at := _ago(5), lines(("SKU-0002", 9))))
    late = shop.sell(("SKU-0002", 1), created_at=counted_at)  # recorded after the count, at its time
    assert shop.level("SKU-0002").on_hand == 8  # the same: 9 counted, the sale on top
    sale = shop.movements("SKU-0002")[-1]
    assert (sale.reason, sale.document_id, sale.absorbed_by_count) == ("sale", late.sale_id, None)
    with shop.db.read() as s:
        for sku in ("SKU-0001", "SKU-0002"):
            assert ledger_level(s, sku, "main") == shop.level(sku)


def test_a_count_from_a_fast_clock_is_taken_as_made_now_so_later_sales_come_off(shop: Shop) -> None:
    result = shop.write(record_count, Count(rid(), MANAGER, _ago(-4), lines(("SKU-0001", 9))))  # 4 minutes ahead
    assert result.counted_at <= iso(utc_now())
    shop.sell(("SKU-0001", 1), created_at=_ago(0))  # rung up after the count, before the handheld's time
    assert shop.level("SKU-0001").on_hand == 8
    assert shop.movements("SKU-0001")[-1].absorbed_by_count is None


def test_a_count_with_no_time_is_made_now_and_its_retry_is_the_same_command(shop: Shop) -> None:
    count = Count(rid(), MANAGER, None, lines(("SKU-0001", 6)))
    first = shop.write(record_count, count)
    again = shop.write(record_count, count)
    assert (again.duplicate, again.counted_at, shop.level("SKU-0001").on_hand) == (True, first.counted_at, 6)


def test_a_sale_from_a_fast_till_clock_is_taken_as_made_now_so_a_count_right_after_sees_it(shop: Shop) -> None:
    shop.sell(("SKU-0001", 1), created_at=_ago(-3))  # the till's clock runs 3 minutes fast
    result = shop.write(record_count, Count(rid(), MANAGER, None, lines(("SKU-0001", 9))))
    assert (result.lines[0].expected, result.lines[0].delta) == (9, 0)
    assert shop.level("SKU-0001").on_hand == 9


def test_a_second_count_at_the_same_instant_is_superseded_and_expects_what_the_first_left(shop: Shop) -> None:
    counted_at = _ago(10)
    shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 7))))
    again = shop.write(record_count, Count(rid(), MANAGER, counted_at, lines(("SKU-0001", 6))))
    assert (again.lines[0].status, again.lines[0].expected, again.lines[0].delta) == ("superseded", 7, 0)
    assert shop.level("SKU-0001").on_hand == 7


def test_a_count_retried_after_its_time_grew_too_old_gets_its_first_answer(shop: Shop) -> None:
    count = Count(rid(), MANAGER, _ago(60), lines(("SKU-0001", 6)))
    first = shop.write(record_count, count)
    later = utc_now() + timedelta(days=8)  # the handheld's acknowledgement was lost; it tries again next week
    again = shop.write(record_count, count, now=later)
    assert (again.duplicate, again.lines, again.counted_at) == (True, first.lines, first.counted_at)
    with pytest.raises(TimestampRefused, match="days"):  # a new count of that time is still refused
        shop.write(record_count, Count(rid(), MANAGER, count.counted_at, lines(("SKU-0001", 5))), now=later)
    assert shop.level("SKU-0001").on_hand == 6
