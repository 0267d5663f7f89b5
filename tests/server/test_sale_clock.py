"""A register's clock may be wrong: a sale from the future is refused, and a sale too old to be
absorbed by a count is taken at server time with an exception, not silently erased."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pos_core.inventory import iso
from pos_core.sale import Sale
from store_server.errors import SaleRefused
from store_server.usecases.clock import utc_now
from store_server.usecases.counts import Count, record_count
from store_server.usecases.sales import COUNT_ABSORB_WINDOW, MAX_CLOCK_AHEAD, payload_hash, submit_sale
from store_server.usecases.stock import ledger_level
from tests.server.inventory_support import MANAGER, Shop, lines, rid, shop
from tests.server.support import make_sale

__all__ = ["shop"]

NOW = utc_now()


def _sell(shop: Shop, made_at: datetime, quantity: int = 2) -> Sale:
    wire = make_sale([("SKU-0001", quantity)])
    wire["created_at"] = iso(made_at)
    sale = Sale.from_wire(wire)
    shop.write(submit_sale, sale, payload_hash(sale), NOW)
    return sale


def test_a_sale_from_the_registers_future_is_refused(shop: Shop) -> None:
    before = shop.fingerprint()
    with pytest.raises(SaleRefused, match=r"^The register's clock is ahead of the store server's; set it right"):
        _sell(shop, NOW + MAX_CLOCK_AHEAD + timedelta(seconds=1))
    assert shop.fingerprint() == before
    _sell(shop, NOW + MAX_CLOCK_AHEAD - timedelta(seconds=1))  # a little skew is fine
    assert shop.level("SKU-0001").on_hand == 8


def test_a_sale_made_before_a_count_within_the_window_is_absorbed(shop: Shop) -> None:
    shop.write(record_count, Count(rid(), MANAGER, iso(NOW - timedelta(days=1)), lines(("SKU-0001", 8))))
    _sell(shop, NOW - COUNT_ABSORB_WINDOW + timedelta(hours=1))
    assert shop.level("SKU-0001").on_hand == 8
    assert shop.open_exceptions() == []


def test_a_sale_older_than_the_window_is_taken_now_with_an_exception(shop: Shop) -> None:
    # A register whose clock is a year behind: the count must not swallow its sale.
    shop.write(record_count, Count(rid(), MANAGER, iso(NOW - timedelta(minutes=1)), lines(("SKU-0001", 8))))
    sale = _sell(shop, NOW - timedelta(days=365))
    assert shop.level("SKU-0001").on_hand == 6
    moved = shop.movements("SKU-0001")[-1]
    assert (moved.reason, moved.document_id, moved.absorbed_by_count) == ("sale", sale.id, None)
    assert moved.occurred_at == iso(NOW)
    [exception] = shop.open_exceptions()
    assert (exception.kind, exception.sku, exception.document_id) == ("stale_sale_after_count", "SKU-0001", sale.id)
    with shop.db.read() as s:
        assert ledger_level(s, "SKU-0001", "main") == shop.level("SKU-0001")


def test_an_old_sale_with_no_count_since_keeps_its_time(shop: Shop) -> None:
    sale = _sell(shop, NOW - timedelta(days=30))
    moved = shop.movements("SKU-0001")[-1]
    assert (moved.document_id, moved.occurred_at) == (sale.id, iso(NOW - timedelta(days=30)))
    assert shop.level("SKU-0001").on_hand == 8
    assert shop.open_exceptions() == []
