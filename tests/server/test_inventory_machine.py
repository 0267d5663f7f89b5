"""Random interleavings of every inventory command against a real database (SQLite and PostgreSQL).

After every step: each level equals the sum of its movements; reserved stock is physically
covered unless an open exception says otherwise; reserved equals what pending reservations
hold; the feed has no gaps. Each command is checked against the levels read just before it
(so no grant ever exceeds what was available), and replaying any earlier command changes
nothing, while reusing its id with another payload is refused and changes nothing.

``POS_HYPOTHESIS_EXAMPLES`` sets how many random runs per database (default 6).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pos_core.errors import IllegalTransition
from pos_core.inventory import ROUTES, Level, Reason, StockLine, demand_by_sku, effect, grantable, iso
from pos_core.orders import Channel, OrderAction, OrderStatus, next_status
from pos_core.sale import Sale
from store_server.db.engine import Database, open_database
from store_server.db.models import (
    FeedEventRow,
    InventoryException,
    Reservation,
    ReservationLine,
    StockLevel,
    StockMovement,
)
from store_server.errors import IdempotencyConflict, IllegalOrderTransition, InsufficientStock, QuantityRefused
from store_server.usecases.clock import utc_now
from store_server.usecases.counts import Count, record_count
from store_server.usecases.expiry import expire_due
from store_server.usecases.orders import (
    OrderStep,
    PlaceOrder,
    UpdateOrder,
    cancel_order,
    collect_pickup,
    get_order,
    mark_ready,
    place_order,
    ship_order,
    start_picking,
    update_order,
)
from store_server.usecases.reservations import (
    ReservationCommand,
    Reserve,
    commit_reservation,
    release_reservation,
    reserve,
)
from store_server.usecases.sales import SaleAccepted, payload_hash, submit_sale
from store_server.usecases.stock_ops import Receive, ReturnToStock, WriteOff, receive, return_to_stock, write_off
from store_server.usecases.transfers import TransferIn, TransferOut, transfer_in, transfer_out
from tests.server.inventory_support import BACKROOM, DATABASES, MANAGER, WEB, Shop, prepare, rid, shop_url
from tests.server.support import make_sale

EXAMPLES = int(os.environ.get("POS_HYPOTHESIS_EXAMPLES", "6"))
SKUS = ["SKU-0001", "SKU-0002", "SKU-0003"]
MAIN = "main"
STEPS: dict[OrderAction, Callable[..., Any]] = {
    OrderAction.CANCEL: cancel_order,
    OrderAction.START_PICKING: start_picking,
    OrderAction.MARK_READY: mark_ready,
    OrderAction.COLLECT: collect_pickup,
    OrderAction.SHIP: ship_order,
}

quantities = st.integers(1, 6)
items = st.lists(st.tuples(st.sampled_from(SKUS), quantities), min_size=1, max_size=4)


def _lines(raw: list[tuple[str, int]]) -> tuple[StockLine, ...]:
    return tuple(StockLine(sku, q) for sku, q in raw)


class InventoryMachine(RuleBasedStateMachine):
    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.shop: Shop = prepare(self.db)
        self.done: list[tuple[Callable[..., Any], Any, dict[str, Any]]] = []
        self.holds: list[str] = []
        self.orders: list[str] = []
        self.transfers: list[str] = []
        self.counted_at: dict[str, str] = {}

    # --- helpers ------------------------------------------------------------------------------

    def levels(self, location: str = MAIN) -> dict[str, Level]:
        return {sku: self.shop.level(sku, location) for sku in SKUS}

    def run(self, fn: Callable[..., Any], cmd: Any) -> Any:
        result = self.shop.write(fn, cmd)
        assert not result.duplicate
        self.done.append((fn, cmd, result.to_wire()))
        return result

    def refused(self, fn: Callable[..., Any], cmd: Any, error: type[Exception]) -> None:
        """``cmd`` is refused with ``error`` and writes nothing."""
        before = self.shop.fingerprint()
        with pytest.raises(error):
            self.shop.write(fn, cmd)
        assert self.shop.fingerprint() == before

    # --- stock in and out ---------------------------------------------------------------------

    @rule(sku=st.sampled_from(SKUS), quantity=quantities, location=st.sampled_from([MAIN, BACKROOM]))
    def receive(self, sku: str, quantity: int, location: str) -> None:
        before = self.shop.level(sku, location)
        self.run(receive, Receive(rid(), MANAGER, (StockLine(sku, quantity),), location))
        assert self.shop.level(sku, location) == Level(before.on_hand + quantity, before.reserved, 0)

    @rule(sold=items)
    def sale(self, sold: list[tuple[str, int]]) -> None:
        before = self.levels()
        wire = make_sale(sold)
        wire["created_at"] = iso(utc_now())
        self.run(_submit, Sale.from_wire(wire))
        for sku, quantity in demand_by_sku(_lines(sold)).items():
            assert self.shop.level(sku).on_hand == before[sku].on_hand - quantity

    @precondition(lambda self: bool(self.counted_at))
    @rule(data=st.data(), quantity=quantities)
    def sale_made_before_a_count_synced_after_it(self, data: st.DataObject, quantity: int) -> None:
        sku = data.draw(st.sampled_from(sorted(self.counted_at)))
        made_at = iso(datetime.fromisoformat(self.counted_at[sku]) - timedelta(seconds=1))
        before = self.shop.level(sku)
        self.shop.sell((sku, quantity), created_at=made_at)
        assert self.shop.level(sku) == before  # recorded, not subtracted twice

    @rule(sku=st.sampled_from(SKUS), quantity=quantities)
    def customer_return(self, sku: str, quantity: int) -> None:
        before = self.shop.level(sku)
        self.run(return_to_stock, ReturnToStock(rid(), "cashier:c", (StockLine(sku, quantity),)))
        assert self.shop.level(sku).on_hand == before.on_hand + quantity

    @rule(sku=st.sampled_from(SKUS), quantity=quantities, reason=st.sampled_from(["damage", "shrink"]))
    def write_off(self, sku: str, quantity: int, reason: str) -> None:
        before = self.shop.level(sku)
        command = WriteOff(rid(), MANAGER, (StockLine(sku, quantity),), reason)
        if quantity > before.on_hand:  # more than the books have: refused, nothing written
            self.refused(write_off, command, QuantityRefused)
            return
        self.run(write_off, command)
        assert self.shop.level(sku).on_hand == before.on_hand - quantity

    @rule(sku=st.sampled_from(SKUS), counted=st.integers(0, 12))
    def count(self, sku: str, counted: int) -> None:
        before = self.shop.level(sku)
        result = self.run(record_count, Count(rid(), MANAGER, iso(utc_now()), (StockLine(sku, counted),)))
        self.counted_at[sku] = result.counted_at
        assert self.shop.level(sku) == Level(counted, before.reserved, 0)

    @rule(sku=st.sampled_from(SKUS), quantity=quantities)
    def transfer_out(self, sku: str, quantity: int) -> None:
        before = self.shop.level(sku)
        command = TransferOut(rid(), MANAGER, MAIN, BACKROOM, (StockLine(sku, quantity),))
        if quantity > before.on_hand:  # more than the books have: refused, nothing written
            self.refused(transfer_out, command, QuantityRefused)
            return
        result = self.run(transfer_out, command)
        self.transfers.append(result.transfer_id)
        assert self.shop.level(sku).on_hand == before.on_hand - quantity

    @precondition(lambda self: bool(self.transfers))
    @rule(data=st.data())
    def transfer_in(self, data: st.DataObject) -> None:
        transfer_id = data.draw(st.sampled_from(self.transfers))
        self.transfers.remove(transfer_id)
        [line] = next(wire for _, cmd, wire in self.done if getattr(cmd, "request_id", None) == transfer_id)["lines"]
        before = self.shop.level(line["sku"], BACKROOM)
        self.run(transfer_in, TransferIn(rid(), MANAGER, transfer_id, (StockLine(line["sku"], line["sent"]),)))
        assert self.shop.level(line["sku"], BACKROOM).on_hand == before.on_hand + line["sent"]

    # --- reservations and orders ----------------------------------------------------------------

    @rule(wanted=items, ttl_s=st.sampled_from([60, 86_400]))
    def reserve(self, wanted: list[tuple[str, int]], ttl_s: int) -> None:
        before = self.levels()
        demand = demand_by_sku(_lines(wanted))
        fits = all(q <= before[sku].available for sku, q in demand.items())
        try:
            result = self.run(reserve, Reserve(rid(), WEB, _lines(wanted), ttl_s))
        except InsufficientStock:
            assert not fits
            assert self.levels() == before
            return
        assert fits  # never granted beyond what was available
        self.holds.append(result.reservation_id)
        for sku, quantity in demand.items():
            assert self.shop.level(sku).reserved == before[sku].reserved + quantity

    @rule(wanted=items, channel=st.sampled_from(["pickup", "ship_from_store"]), hold_s=st.sampled_from([60, 86_400]))
    def place_order(self, wanted: list[tuple[str, int]], channel: str, hold_s: int) -> None:
        before = self.levels()
        result = self.run(place_order, PlaceOrder(rid(), WEB, channel, _lines(wanted), hold_s=hold_s))
        self.orders.append(result.order_id)
        for sku, quantity in demand_by_sku(_lines(wanted)).items():
            granted = sum(ln.reserved for ln in result.lines if ln.sku == sku)
            assert granted == grantable(quantity, before[sku].available)
            assert self.shop.level(sku).reserved == before[sku].reserved + granted

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), commit=st.booleans())
    def close_reservation(self, data: st.DataObject, commit: bool) -> None:
        reservation_id = data.draw(st.sampled_from(self.holds))
        self.holds.remove(reservation_id)
        before = self.levels()
        with self.shop.db.read() as s:
            status = s.get_one(Reservation, reservation_id).status
        fn = commit_reservation if commit else release_reservation
        if status != "pending":  # it expired meanwhile
            return
        result = self.run(fn, ReservationCommand(rid(), WEB, reservation_id))
        for line in result.lines:
            change = effect(*ROUTES[Reason.COMMIT if commit else Reason.RELEASE], line.quantity)
            assert self.shop.level(line.sku) == before[line.sku].after(change)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), action=st.sampled_from(sorted(STEPS)))
    def order_step(self, data: st.DataObject, action: OrderAction) -> None:
        order_id = data.draw(st.sampled_from(self.orders))
        order = self.shop.read(get_order, order_id)
        try:
            expected = next_status(Channel(order.channel), OrderStatus(order.status), action)
        except IllegalTransition:
            expected = None
        before = self.shop.fingerprint()
        try:
            result = self.run(STEPS[action], OrderStep(rid(), MANAGER, order_id))
        except IllegalOrderTransition:
            assert expected is None
            assert self.shop.fingerprint() == before
            return
        assert result.status == expected

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), wanted=items)
    def update_order(self, data: st.DataObject, wanted: list[tuple[str, int]]) -> None:
        order = self.shop.read(get_order, data.draw(st.sampled_from(self.orders)))
        before = self.levels(order.location)
        have: dict[str, int] = {}
        for line in order.lines:
            have[line.sku] = have.get(line.sku, 0) + line.reserved
        command = UpdateOrder(rid(), WEB, order.order_id, _lines(wanted))
        if order.status not in (OrderStatus.PLACED, OrderStatus.RESERVED):
            snapshot = self.shop.fingerprint()
            with pytest.raises(IllegalOrderTransition):
                self.shop.write(update_order, command)
            assert self.shop.fingerprint() == snapshot
            return
        result = self.run(update_order, command)
        demand = demand_by_sku(_lines(wanted))
        for sku in set(have) | set(demand):
            want, had = demand.get(sku, 0), have.get(sku, 0)
            expected = want if want <= had else had + grantable(want - had, before[sku].available)
            assert sum(ln.reserved for ln in result.lines if ln.sku == sku) == expected
            assert self.shop.level(sku).reserved == before[sku].reserved - had + expected

    @rule(later=st.sampled_from([0, 7200]))
    def expire(self, later: int) -> None:
        expired = self.shop.write(expire_due, utc_now() + timedelta(seconds=later))
        assert later or not expired  # nothing expires before its time (the shortest hold is 60 s)

    # --- idempotency --------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        fn, cmd, first = data.draw(st.sampled_from(self.done))
        before = self.shop.fingerprint()
        again = self.shop.write(fn, cmd)
        assert again.duplicate
        assert again.to_wire() == first
        assert self.shop.fingerprint() == before

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data())
    def reuse_an_id_for_something_else(self, data: st.DataObject) -> None:
        fn, cmd, _ = data.draw(st.sampled_from(self.done))
        before = self.shop.fingerprint()
        with pytest.raises(IdempotencyConflict):
            self.shop.write(fn, _altered(cmd))
        assert self.shop.fingerprint() == before

    # --- invariants -------------------------------------------------------------------------------

    @invariant()
    def levels_are_the_sum_of_movements_and_reservations(self) -> None:
        with self.shop.db.read() as s:
            sums: dict[tuple[str, str], list[int]] = {}
            for sku, location, from_bucket, to_bucket, quantity in s.execute(
                select(
                    StockMovement.sku,
                    StockMovement.location,
                    StockMovement.from_bucket,
                    StockMovement.to_bucket,
                    func.sum(StockMovement.quantity),
                ).group_by(
                    StockMovement.sku, StockMovement.location, StockMovement.from_bucket, StockMovement.to_bucket
                )
            ):
                change = effect(from_bucket, to_bucket, int(quantity))
                figures = sums.setdefault((sku, location), [0, 0])
                figures[0] += change.on_hand
                figures[1] += change.reserved
            held: dict[tuple[str, str], int] = {}
            for sku, location, quantity in s.execute(
                select(ReservationLine.sku, Reservation.location, func.sum(ReservationLine.quantity))
                .join(Reservation, Reservation.id == ReservationLine.reservation_id)
                .where(Reservation.status == "pending")
                .group_by(ReservationLine.sku, Reservation.location)
            ):
                held[(sku, location)] = int(quantity)
            flagged = set(
                s.execute(
                    select(InventoryException.sku, InventoryException.location).where(
                        InventoryException.status == "open"
                    )
                ).all()
            )
            for level in s.scalars(select(StockLevel)):
                key = (level.sku, level.location)
                assert sums.get(key, [0, 0]) == [level.on_hand, level.reserved], key
                assert held.get(key, 0) == level.reserved, key
                covered = Level(level.on_hand, level.reserved, level.safety_stock).shortfall == 0
                assert covered or key in flagged, key
            seqs = s.execute(select(func.count(), func.max(FeedEventRow.seq))).one()
            assert seqs[0] == (seqs[1] or 0)


def _submit(session: Session, sale: Sale) -> SaleAccepted:
    return submit_sale(session, sale, payload_hash(sale))


def _altered(cmd: Any) -> Any:
    """The same request id with another payload."""
    if isinstance(cmd, Sale):
        return dataclasses.replace(cmd, register="Till 9")
    if hasattr(cmd, "lines"):
        first = cmd.lines[0]
        return dataclasses.replace(cmd, lines=(StockLine(first.sku, first.quantity + 1), *cmd.lines[1:]))
    if hasattr(cmd, "order_id"):
        return dataclasses.replace(cmd, order_id=rid())
    return dataclasses.replace(cmd, reservation_id=rid())


@pytest.mark.parametrize("kind", DATABASES)
def test_random_interleavings_keep_the_ledger_true(request: pytest.FixtureRequest, kind: str) -> None:
    db = open_database(shop_url(request, kind))
    InventoryMachine.db = db
    try:
        run_state_machine_as_test(
            InventoryMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        db.close()
