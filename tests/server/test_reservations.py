"""Two-phase reservations and the cashier's sale that is never refused, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pos_core.inventory import Level
from store_server.errors import (
    IdempotencyConflict,
    IllegalOrderTransition,
    InsufficientStock,
    ReservationNotPending,
    UnknownException,
    UnknownReservation,
)
from store_server.usecases import reservations
from store_server.usecases.clock import utc_now
from store_server.usecases.expiry import expire_due
from store_server.usecases.orders import PlaceOrder, place_order
from store_server.usecases.posting import Posting
from store_server.usecases.reservations import (
    ReservationCommand,
    Reserve,
    commit_reservation,
    release_reservation,
    reserve,
)
from store_server.usecases.stock_exceptions import ResolveException, open_exceptions, resolve_exception
from tests.server.inventory_support import MANAGER, WEB, Shop, lines, rid, shop

__all__ = ["shop"]


def test_a_reservation_holds_every_line_or_nothing(shop: Shop) -> None:
    before = shop.fingerprint()
    with pytest.raises(InsufficientStock, match=r"SKU-0002 \(5 of 6\)") as refused:
        # 6 butter over two lines is more than the 5 there are, though each line alone fits.
        shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 2), ("SKU-0002", 3), ("SKU-0002", 3)), ttl_s=600))
    assert refused.value.short == [{"sku": "SKU-0002", "requested": 6, "available": 5}]
    assert shop.fingerprint() == before
    granted = shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 2), ("SKU-0002", 5)), ttl_s=600))
    assert granted.status == "pending"
    assert shop.level("SKU-0002") == Level(5, 5, 0)
    hold = shop.movements("SKU-0002")[-1]
    assert (hold.reason, hold.from_bucket, hold.to_bucket, hold.document_type) == (
        "reservation",
        "on_hand",
        "reserved",
        "reservation",
    )


def test_commit_takes_the_goods_away_and_release_gives_them_back(shop: Shop) -> None:
    kept = shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 4)), ttl_s=600))
    dropped = shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 3)), ttl_s=600))
    assert shop.level("SKU-0001") == Level(10, 7, 0)
    seq = shop.last_seq()
    shop.write(commit_reservation, ReservationCommand(rid(), WEB, kept.reservation_id))
    shop.write(release_reservation, ReservationCommand(rid(), WEB, dropped.reservation_id))
    assert shop.level("SKU-0001") == Level(6, 0, 0)
    assert [k for k, _ in shop.events(seq)] == [
        "stock.changed",
        "reservation.committed",
        "stock.changed",
        "reservation.released",
    ]
    with pytest.raises(ReservationNotPending, match="already committed; it can no longer be released"):
        shop.write(release_reservation, ReservationCommand(rid(), WEB, kept.reservation_id))
    with pytest.raises(UnknownReservation):
        shop.write(commit_reservation, ReservationCommand(rid(), WEB, rid()))


def test_an_order_s_reservation_is_moved_through_the_order(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0001", 1))))
    assert order.reservation_id is not None
    with pytest.raises(IllegalOrderTransition, match="cancel the order instead"):
        shop.write(release_reservation, ReservationCommand(rid(), WEB, order.reservation_id))


def test_a_reservation_may_not_take_the_id_of_an_order_s_hold(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0001", 1))))
    assert order.reservation_id is not None
    before = shop.fingerprint()
    with pytest.raises(IdempotencyConflict, match="already the id of an order's hold"):
        shop.write(reserve, Reserve(order.reservation_id, WEB, lines(("SKU-0002", 1)), ttl_s=60))
    assert shop.fingerprint() == before


def test_reservations_expire_after_their_ttl(shop: Shop) -> None:
    granted = shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0003", 2)), ttl_s=60))
    [expired] = shop.write(expire_due, utc_now() + timedelta(seconds=61))
    assert expired.reservation_id == granted.reservation_id
    assert expired.status == "expired"
    assert shop.level("SKU-0003") == Level(3, 0, 0)
    assert shop.movements("SKU-0003")[-1].reason == "expiry"
    assert shop.write(expire_due, utc_now() + timedelta(days=1)) == []
    with pytest.raises(ReservationNotPending, match="already expired"):
        shop.write(commit_reservation, ReservationCommand(rid(), WEB, granted.reservation_id))


@pytest.mark.parametrize("close", [commit_reservation, release_reservation])
def test_a_reservation_past_its_expiry_cannot_be_closed_before_the_sweep_reaches_it(shop: Shop, close: Any) -> None:
    granted = shop.write(
        reserve, Reserve(rid(), WEB, lines(("SKU-0003", 2)), ttl_s=60), utc_now() - timedelta(seconds=61)
    )
    seq = shop.last_seq()
    with pytest.raises(ReservationNotPending, match=r"expired at .*; it can no longer be"):
        shop.write(close, ReservationCommand(rid(), WEB, granted.reservation_id))
    assert shop.level("SKU-0003") == Level(3, 2, 0)  # nothing written: the sweep puts it back
    assert shop.last_seq() == seq
    [expired] = shop.write(expire_due)
    assert (expired.reservation_id, expired.status) == (granted.reservation_id, "expired")
    assert shop.level("SKU-0003") == Level(3, 0, 0)


def test_a_cashier_sale_of_reserved_goods_is_accepted_and_flagged_at_once(shop: Shop) -> None:
    order = shop.write(place_order, PlaceOrder(rid(), WEB, "pickup", lines(("SKU-0003", 2))))
    seq = shop.last_seq()
    accepted = shop.sell(("SKU-0003", 2))  # the customer holds the last 3 soaps; 2 are promised online
    assert shop.level("SKU-0003") == Level(1, 2, 0)
    [exception_id] = accepted.exceptions
    kinds = [k for k, _ in shop.events(seq)]
    assert kinds == ["sale.completed", "stock.changed", "reservation.at_risk"]
    at_risk = shop.events(seq)[-1][1]
    assert at_risk["exception_id"] == exception_id
    assert (at_risk["sku"], at_risk["on_hand"], at_risk["reserved"], at_risk["shortfall"]) == ("SKU-0003", 1, 2, 1)
    assert at_risk["reservations"] == [
        {"reservation_id": order.reservation_id, "order_id": order.order_id, "quantity": 2}
    ]
    assert [e["exception_id"] for e in shop.read(open_exceptions)] == [exception_id]
    # Selling more of it deepens the shortfall: flagged again. Receiving does not flag.
    again = shop.sell(("SKU-0003", 1))
    assert len(again.exceptions) == 1
    resolved = shop.write(resolve_exception, ResolveException(rid(), MANAGER, exception_id, note="called the customer"))
    assert (resolved.status, resolved.already, resolved.note) == ("resolved", False, "called the customer")
    seq_after = shop.last_seq()
    twice = shop.write(resolve_exception, ResolveException(rid(), "staff:kim", exception_id, note="found them"))
    assert (twice.already, twice.resolved_by, twice.note) == (True, MANAGER, "called the customer")  # the first stands
    assert shop.last_seq() == seq_after
    assert [e["exception_id"] for e in shop.read(open_exceptions)] == list(again.exceptions)
    with pytest.raises(UnknownException):
        shop.write(resolve_exception, ResolveException(rid(), MANAGER, rid()))


def test_stock_below_zero_with_nothing_reserved_is_no_exception(shop: Shop) -> None:
    accepted = shop.sell(("SKU-0003", 5))
    assert accepted.exceptions == ()
    assert shop.level("SKU-0003").on_hand == -2


def test_a_refusal_inside_a_larger_transaction_leaves_it_clean(shop: Shop) -> None:
    before = shop.fingerprint()
    with shop.db.write() as session:
        with pytest.raises(InsufficientStock):  # SKU-0001 fits and is granted first, then SKU-0002 does not
            reserve(session, Reserve(rid(), WEB, lines(("SKU-0001", 2), ("SKU-0002", 9)), ttl_s=600))
        assert reserve(session, Reserve(rid(), WEB, lines(("SKU-0001", 1)), ttl_s=600)).status == "pending"
    assert shop.level("SKU-0001") == Level(10, 1, 0)
    assert shop.fingerprint()["counts"]["stock_movements"] == before["counts"]["stock_movements"] + 1
    kinds = [k for k, _ in shop.events()]
    assert shop.last_seq() == len(kinds)  # no seq was lost to the refused command
    assert kinds[-2:] == ["stock.changed", "reservation.granted"]


def test_a_reservation_refused_on_the_levels_it_read_grants_nothing_first(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted: list[str] = []
    grant = Posting.grant

    def counted(self: Posting, sku: str, quantity: int, *, location: str) -> Any:
        granted.append(sku)
        return grant(self, sku, quantity, location=location)

    monkeypatch.setattr(Posting, "grant", counted)
    before = shop.fingerprint()
    with pytest.raises(InsufficientStock) as refused:
        shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 2), ("SKU-0002", 9), ("SKU-0003", 99)), ttl_s=600))
    assert [s["sku"] for s in refused.value.short] == ["SKU-0002", "SKU-0003"]  # every short SKU, in order
    assert granted == []  # SKU-0001 fits, but nothing is granted to be rolled back
    assert shop.fingerprint() == before


def test_a_grant_refused_after_the_levels_said_yes_still_refuses_and_writes_nothing(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conditional UPDATE has the last word: if the levels read said enough but the grant
    finds less, the reservation is refused with what its UPDATE found, as before the check."""
    monkeypatch.setattr(reservations, "_short", lambda *_: [])  # the read "says" everything fits
    before = shop.fingerprint()
    with pytest.raises(InsufficientStock) as refused:
        shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 2), ("SKU-0002", 9)), ttl_s=600))
    assert refused.value.short == [{"sku": "SKU-0002", "requested": 9, "available": 5}]
    assert shop.fingerprint() == before
