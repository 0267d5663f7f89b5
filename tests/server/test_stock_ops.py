"""Receiving, write-offs, returns, transfers, safety stock and product changes, on both databases.

Every change is a movement with reason, document and actor; the level moves with it and a
``stock.changed`` event carries the absolute figures; repeats change nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pos_core.inventory import Level, iso
from store_server.errors import (
    BadRequest,
    IdempotencyConflict,
    ProductRefused,
    QuantityRefused,
    TimestampRefused,
    UnknownLocation,
    UnknownSku,
    UnknownTransfer,
)
from store_server.usecases.clock import utc_now
from store_server.usecases.products import ChangeProduct, change_product
from store_server.usecases.requests import command_request, remember
from store_server.usecases.reservations import Reserve, reserve
from store_server.usecases.safety import SetSafetyStock, set_safety_stock
from store_server.usecases.stock import availability, ledger_level
from store_server.usecases.stock_ops import Receive, ReturnToStock, WriteOff, receive, return_to_stock, write_off
from store_server.usecases.transfers import TransferIn, TransferOut, transfer_in, transfer_out
from tests.server.inventory_support import BACKROOM, MANAGER, WEB, Shop, lines, rid, shop

__all__ = ["shop"]


def test_receiving_against_a_purchase_order_is_a_movement_with_its_document(shop: Shop) -> None:
    seq = shop.last_seq()
    result = shop.write(
        receive, Receive(rid(), MANAGER, lines(("SKU-0001", 4), ("SKU-0001", 2)), purchase_order="PO-77")
    )
    assert result.levels[0] == {
        "sku": "SKU-0001",
        "location": "main",
        "on_hand": 16,
        "reserved": 0,
        "safety_stock": 0,
        "available": 16,
    }
    last = shop.movements("SKU-0001")[-1]
    assert (last.quantity, last.from_bucket, last.to_bucket, last.reason) == (6, "supplier", "on_hand", "receive")
    assert (last.document_type, last.document_id, last.actor) == ("purchase_order", "PO-77", MANAGER)
    [(kind, data)] = shop.events(seq)
    assert kind == "stock.changed"
    assert data["on_hand"] == 16
    assert data["movement"]["quantity"] == 6
    assert data["movement"]["actor"] == MANAGER


def test_a_repeat_returns_the_first_result_and_a_changed_repeat_is_refused(shop: Shop) -> None:
    command = Receive(rid(), MANAGER, lines(("SKU-0002", 3)))
    first = shop.write(receive, command)
    before = shop.fingerprint()
    again = shop.write(receive, command)
    assert again.duplicate
    assert not first.duplicate
    assert again.levels == first.levels
    assert shop.fingerprint() == before
    with pytest.raises(IdempotencyConflict, match=r"already used for stock\.receive with different content"):
        shop.write(receive, Receive(command.request_id, MANAGER, lines(("SKU-0002", 4))))
    with pytest.raises(IdempotencyConflict):  # the same id for another command is a conflict too
        shop.write(write_off, WriteOff(command.request_id, MANAGER, lines(("SKU-0002", 3))))
    assert shop.fingerprint() == before


@pytest.mark.parametrize(
    ("items", "error", "sentence"),
    [
        ((("SKU-0001", 0),), QuantityRefused, r"SKU-0001 \(line 1 of the receive\) must be a whole number from 1"),
        ((("SKU-0001", -5),), QuantityRefused, "must be a whole number"),
        ((("SKU-0001", 10**9),), QuantityRefused, "from 1 to 10000000"),
        ((), QuantityRefused, "has no lines"),
        ((("SKU-404", 1),), UnknownSku, "no product with SKU SKU-404"),
    ],
)
def test_bad_input_is_refused_with_a_sentence_and_writes_nothing(
    shop: Shop, items: tuple[tuple[str, int], ...], error: type[Exception], sentence: str
) -> None:
    before = shop.fingerprint()
    with pytest.raises(error, match=sentence):
        shop.write(receive, Receive(rid(), MANAGER, lines(*items)))
    assert shop.fingerprint() == before


def test_unknown_location_and_overlong_ids_are_refused(shop: Shop) -> None:
    with pytest.raises(UnknownLocation, match="no location 'attic'"):
        shop.write(receive, Receive(rid(), MANAGER, lines(("SKU-0001", 1)), location="attic"))
    with pytest.raises(BadRequest, match="request id must be an id of 1 to 36"):
        shop.write(receive, Receive("x" * 37, MANAGER, lines(("SKU-0001", 1))))


def test_damage_and_shrink_write_goods_off_and_returns_put_them_back(shop: Shop) -> None:
    shop.write(write_off, WriteOff(rid(), MANAGER, lines(("SKU-0003", 1)), reason="damage"))
    shop.write(write_off, WriteOff(rid(), MANAGER, lines(("SKU-0003", 1)), reason="shrink"))
    with pytest.raises(BadRequest, match="damage or shrink"):
        shop.write(write_off, WriteOff(rid(), MANAGER, lines(("SKU-0003", 1)), reason="theft"))
    shop.write(return_to_stock, ReturnToStock(rid(), "cashier:c1", lines(("SKU-0003", 2)), order_id=rid()))
    assert shop.level("SKU-0003").on_hand == 3
    reasons = [(m.reason, m.to_bucket) for m in shop.movements("SKU-0003")[1:]]
    assert reasons == [("damage", "written_off"), ("shrink", "written_off"), ("return", "on_hand")]


def test_a_write_off_or_transfer_of_more_than_the_books_have_is_refused_and_writes_nothing(shop: Shop) -> None:
    before = shop.fingerprint()  # SKU-0003: 3 on hand; SKU-0004: none
    with pytest.raises(QuantityRefused, match="The books say 3 of SKU-0003 on hand at main, fewer than 4"):
        shop.write(write_off, WriteOff(rid(), MANAGER, lines(("SKU-0003", 2), ("SKU-0003", 2)), reason="damage"))
    with pytest.raises(QuantityRefused, match="count them first"):
        shop.write(transfer_out, TransferOut(rid(), MANAGER, "main", BACKROOM, lines(("SKU-0001", 1), ("SKU-0004", 1))))
    assert shop.fingerprint() == before
    shop.write(write_off, WriteOff(rid(), MANAGER, lines(("SKU-0003", 3)), reason="shrink"))  # all of it: fine
    assert shop.level("SKU-0003").on_hand == 0


def test_a_transfer_leaves_one_location_and_arrives_at_the_other_in_parts(shop: Shop) -> None:
    transfer_id = rid()
    sent = shop.write(transfer_out, TransferOut(transfer_id, MANAGER, "main", BACKROOM, lines(("SKU-0001", 6))))
    assert sent.status == "in_transit"
    assert sent.lines == ({"sku": "SKU-0001", "sent": 6, "received": 0},)
    assert shop.level("SKU-0001") == Level(4, 0, 0)
    assert shop.level("SKU-0001", BACKROOM) == Level(0, 0, 0)
    shop.write(transfer_in, TransferIn(rid(), MANAGER, transfer_id, lines(("SKU-0001", 4))))
    with pytest.raises(QuantityRefused, match="sent 6 of SKU-0001 and 4 arrived already; at most 2 more"):
        shop.write(transfer_in, TransferIn(rid(), MANAGER, transfer_id, lines(("SKU-0001", 3))))
    with pytest.raises(QuantityRefused, match="carries no SKU-0002"):
        shop.write(transfer_in, TransferIn(rid(), MANAGER, transfer_id, lines(("SKU-0002", 1))))
    done = shop.write(transfer_in, TransferIn(rid(), MANAGER, transfer_id, lines(("SKU-0001", 2))))
    assert done.status == "received"
    assert shop.level("SKU-0001", BACKROOM) == Level(6, 0, 0)
    with pytest.raises(UnknownTransfer):
        shop.write(transfer_in, TransferIn(rid(), MANAGER, rid(), lines(("SKU-0001", 1))))
    with pytest.raises(BadRequest, match="two different locations"):
        shop.write(transfer_out, TransferOut(rid(), MANAGER, "main", "main", lines(("SKU-0001", 1))))
    with shop.db.read() as s:
        for location in ("main", BACKROOM):
            assert ledger_level(s, "SKU-0001", location) == shop.level("SKU-0001", location)


def test_safety_stock_comes_from_product_else_category_else_store(shop: Shop) -> None:
    seq = shop.last_seq()
    shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, 1))
    assert shop.level("SKU-0001").safety_stock == 1
    assert shop.level("SKU-0003").safety_stock == 1
    shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, 2, category="Dairy"))
    shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, 4, sku="SKU-0002"))
    assert [shop.level(s).safety_stock for s in ("SKU-0001", "SKU-0002", "SKU-0003")] == [2, 4, 1]
    shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, None, sku="SKU-0002"))  # back to the category's
    assert shop.level("SKU-0002").safety_stock == 2
    # A level made later gets the resolved figure too.
    shop.write(receive, Receive(rid(), MANAGER, lines(("SKU-0004", 3))))
    assert shop.level("SKU-0004").safety_stock == 1
    changed = [d for k, d in shop.events(seq) if k == "stock.changed" and d["movement"] is None]
    assert changed
    assert all(d["available"] == d["on_hand"] - d["reserved"] - d["safety_stock"] for d in changed)
    with pytest.raises(BadRequest, match="needs a quantity"):
        shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, None))


def test_safety_stock_is_never_promised(shop: Shop) -> None:
    shop.write(set_safety_stock, SetSafetyStock(rid(), MANAGER, 2, sku="SKU-0003"))  # 3 on hand, 1 available
    granted = shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0003", 1)), ttl_s=600))
    assert granted.levels[0]["available"] == 0


def test_price_and_product_changes_reach_the_feed(shop: Shop) -> None:
    seq = shop.last_seq()
    result = shop.write(change_product, ChangeProduct(rid(), MANAGER, "SKU-0001", price=199, category="Drinks"))
    assert result.changed == ("price", "category")
    assert result.product["price"] == 199
    assert result.product["category"] == "Drinks"
    [(kind, data)] = shop.events(seq)
    assert kind == "product.changed"
    assert data["changed"] == ["price", "category"]
    assert (data["sold_by"], data["tare_grams"]) == ("each", 0)  # the whole product, as registers page it
    unchanged = shop.write(change_product, ChangeProduct(rid(), MANAGER, "SKU-0001", price=199))
    assert unchanged.changed == ()
    assert shop.last_seq() == seq + 1
    with pytest.raises(ProductRefused, match="already belongs to SKU-0002"):
        shop.write(change_product, ChangeProduct(rid(), MANAGER, "SKU-0001", barcode="4000000000024"))
    with pytest.raises(ProductRefused, match="no tax class 'luxury'"):
        shop.write(change_product, ChangeProduct(rid(), MANAGER, "SKU-0001", tax_class="luxury"))
    with pytest.raises(UnknownSku):
        shop.write(change_product, ChangeProduct(rid(), MANAGER, "SKU-404", price=1))


def test_a_name_typed_with_spaces_around_it_is_stored_without_and_its_retry_without_them_is_a_repeat(
    shop: Shop,
) -> None:
    request = rid()
    first = shop.write(
        change_product, ChangeProduct(request, MANAGER, "SKU-0001", name=" Oat milk ", category=" Dairy")
    )
    again = shop.write(change_product, ChangeProduct(request, MANAGER, "SKU-0001", name="Oat milk", category="Dairy"))
    assert (first.product["name"], first.product["category"]) == ("Oat milk", "Dairy")
    assert (again.duplicate, again.product) == (True, first.product)


def test_a_change_remembered_with_the_text_as_typed_is_still_a_repeat(shop: Shop) -> None:
    # Before names were stripped for the fingerprint, a change was remembered with its spaces.
    typed = ChangeProduct(rid(), MANAGER, "SKU-0001", name=" Rye loaf ")
    first = {"product": {"sku": "SKU-0001", "name": "Rye loaf"}, "changed": ["name"]}
    with shop.db.write() as session:
        remember(session, command_request("product.change", typed), first)
    before = shop.fingerprint()
    again = shop.write(change_product, typed)
    assert (again.duplicate, again.product, again.changed) == (True, first["product"], ("name",))
    assert shop.fingerprint() == before


def test_a_batch_availability_query_gives_absolute_figures(shop: Shop) -> None:
    shop.write(reserve, Reserve(rid(), WEB, lines(("SKU-0001", 4)), ttl_s=600))
    figures = shop.read(availability, ["SKU-0004", "SKU-0001", "SKU-404", "SKU-0001"])
    assert [(f["sku"], f["on_hand"], f["reserved"], f["available"]) for f in figures] == [
        ("SKU-0001", 10, 4, 6),
        ("SKU-0004", 0, 0, 0),  # never stocked
    ]


def test_a_return_more_than_7_days_back_is_refused_but_a_retry_of_one_accepted_gets_its_first_answer(
    shop: Shop,
) -> None:
    before = shop.fingerprint()
    with pytest.raises(TimestampRefused, match="more than 7 days ago; check the date, or leave the time out"):
        shop.write(
            return_to_stock,
            ReturnToStock(rid(), "cashier:c1", lines(("SKU-0003", 1)), occurred_at="0001-01-01T00:00:00Z"),
        )
    assert shop.fingerprint() == before
    back = ReturnToStock(rid(), "cashier:c1", lines(("SKU-0003", 2)), occurred_at=iso(utc_now() - timedelta(days=6)))
    first = shop.write(return_to_stock, back)
    again = shop.write(return_to_stock, back, now=utc_now() + timedelta(days=2))  # its acknowledgement was lost
    assert (again.duplicate, again.levels) == (True, first.levels)
    assert shop.level("SKU-0003").on_hand == 5
