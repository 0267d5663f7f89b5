"""`pos feed` without --json: one line a person reads for each kind of event, never Python's reprs."""

from __future__ import annotations

from pos_cli.commands import describe_event


def test_each_event_reads_as_words() -> None:
    lines = [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}]
    assert describe_event("reservation.granted", {"reservation_id": "r1", "status": "pending", "lines": lines}) == (
        "reservation r1 pending: 2 x SKU-1, 1 x SKU-2"
    )
    order = {"order_id": "o1", "reference": "WEB-7", "channel": "pickup", "status": "ready", "lines": lines}
    assert describe_event("order.ready", order) == "order o1 (WEB-7) pickup ready: 2 x SKU-1, 1 x SKU-2"
    assert describe_event("order.cancelled", {**order, "reference": None, "lines": []}) == "order o1 pickup ready: -"
    product = {"sku": "TEA", "name": "Tea", "changed": ["sku", "name", "price"]}
    assert describe_event("product.changed", product) == "product TEA Tea: new"
    assert describe_event("product.changed", {**product, "changed": ["price"]}) == "product TEA Tea: changed price"
    other = describe_event("inventory_exception.resolved", {"exception_id": "e1", "note": None, "ok": True})
    assert other == '{"exception_id": "e1", "note": null, "ok": true}'
