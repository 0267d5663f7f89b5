"""Group commit on the one database thread: requests share a commit, never each other's failures.

Requests are made to wait behind a job that holds the database thread, so they are sure to
be committed together; ``writer.groups`` proves they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pos_core.ids import new_id
from pos_core.inventory import StockLine
from pos_core.sale import Sale
from store_server.db.engine import Database
from store_server.db.models import (
    Category,
    FeedEventRow,
    FeedState,
    InventoryException,
    RequestRecord,
    SaleRow,
    StockLevel,
    StockMovement,
)
from store_server.db.savepoint import TransactionLost
from store_server.db.writer import TOGETHER
from store_server.errors import IdempotencyConflict, SaleRefused, UnknownSku
from store_server.usecases import rows
from store_server.usecases.feed import lock_feed
from store_server.usecases.reservations import Reserve, reserve
from store_server.usecases.sales import SaleAccepted, payload_hash, submit_sale, submit_sales
from store_server.usecases.stock import DEFAULT_LOCATION
from tests.server.support import in_one_group, make_sale, prepared_db, run

__all__ = ["prepared_db"]


class Boom(Exception):
    """A request that fails after it has written."""


def _sale(items: list[tuple[str, int]] | None = None, sale_id: str | None = None) -> Sale:
    return Sale.from_wire(make_sale(items or [("SKU-0001", 1), ("SKU-0002", 1)], sale_id=sale_id))


def _submit(session: Session, sale: Sale) -> SaleAccepted:
    return submit_sale(session, sale, payload_hash(sale))


def _submit_then_fail(session: Session, sale: Sale) -> SaleAccepted:
    _submit(session, sale)  # writes the sale, its movements and its events ...
    raise Boom  # ... which must all go


def _seqs(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(FeedEventRow.seq).order_by(FeedEventRow.seq)))


def _has_sale(db: Database, sale_id: str) -> bool:
    with db.read() as session:
        return session.get(SaleRow, sale_id) is not None or session.get(RequestRecord, sale_id) is not None


def test_a_refused_request_in_a_group_writes_nothing_and_takes_no_seq(db: Database) -> None:
    good = [_sale() for _ in range(4)]
    unknown = _sale()
    unknown_wire = unknown.to_wire()
    unknown_wire["lines"][0]["sku"] = "NO-SUCH-SKU"
    unknown = Sale.from_wire(unknown_wire)
    failing = _sale()
    calls = [
        (_submit, good[0]),
        (_submit, good[1]),
        (_submit_then_fail, failing),
        (_submit, unknown),
        (_submit, good[2]),
        (_submit, good[3]),
    ]
    results = run(in_one_group(db, calls))

    assert isinstance(results[2], Boom)
    assert isinstance(results[3], UnknownSku)
    accepted = [r for r in results if isinstance(r, SaleAccepted)]
    assert len(accepted) == 4
    # Each sale is sale.completed + one stock.changed per line: three seqs, in submission order.
    assert [a.seq for a in accepted] == [1, 4, 7, 10]
    assert _seqs(db) == list(range(1, 13))
    assert all(_has_sale(db, s.id) for s in good)
    assert not _has_sale(db, failing.id)
    assert not _has_sale(db, unknown.id)


def _add_category_then_fail(session: Session, name: str) -> None:
    session.add(Category(name=name, safety_stock=3))
    session.flush()  # the row is written inside the request's savepoint ...
    raise Boom  # ... and the savepoint rolls back


def _category(session: Session, name: str) -> int | None:
    found = session.get(Category, name)
    return None if found is None else found.safety_stock


def _add_category(session: Session, name: str) -> int:
    session.add(Category(name=name, safety_stock=5))
    session.flush()
    return 5


def test_after_a_rolled_back_request_the_next_ones_in_its_group_see_the_database_as_it_is(db: Database) -> None:
    """Savepoints go straight to the driver, so the writer keeps the session's objects true:
    what a failed request inserted is gone from the session too, and objects it loaded (the
    feed counter) are read again."""
    failing = _sale()
    later = _sale()
    calls = [
        (_submit_then_fail, failing),  # loads and advances the feed counter, then fails
        (_add_category_then_fail, "Ghosts"),
        (_add_category, "Ghosts"),  # the same key again: a new row, not a clash with a ghost
        (_add_category_then_fail, "Spirits"),
        (_category, "Spirits"),  # must not find the rolled-back object in the session
        (_submit, later),
    ]
    results = run(in_one_group(db, calls))

    assert isinstance(results[0], Boom)
    assert isinstance(results[1], Boom)
    assert results[2] == 5
    assert isinstance(results[3], Boom)
    assert results[4] is None
    assert isinstance(results[5], SaleAccepted)
    assert results[5].seq == 1  # the failed sale's seqs were given back
    assert _seqs(db) == [1, 2, 3]
    with db.read() as session:
        assert _category(session, "Ghosts") == 5


def test_a_repeat_inside_one_group_and_in_a_later_one_returns_the_first_result(db: Database) -> None:
    sale = _sale()
    conflicting = _sale([("SKU-0003", 1)], sale_id=sale.id)
    first, again, conflict = run(in_one_group(db, [(_submit, sale), (_submit, sale), (_submit, conflicting)]))
    assert isinstance(first, SaleAccepted)
    assert not first.duplicate
    assert isinstance(again, SaleAccepted)
    assert again.duplicate
    assert again.seq == first.seq
    assert isinstance(conflict, IdempotencyConflict)

    [later] = run(in_one_group(db, [(_submit, sale)]))
    assert isinstance(later, SaleAccepted)
    assert later.duplicate
    assert later.seq == first.seq
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SaleRow)) == 1
    assert _seqs(db) == [1, 2, 3]


def test_no_request_hears_of_success_before_its_commit_and_a_failed_commit_loses_them_all(db: Database) -> None:
    committing = threading.Event()
    release = threading.Event()
    fail = {"commit": False}

    def on_commit(_conn: Any) -> None:
        committing.set()
        release.wait(10)
        if fail["commit"]:
            raise OSError("disk gone")

    event.listen(db.engine, "commit", on_commit)
    sales = [_sale() for _ in range(3)]

    async def scenario(expect_failure: bool) -> list[Any]:
        committing.clear()
        release.clear()
        fail["commit"] = expect_failure
        futures = [asyncio.ensure_future(db.run_write(_submit, s)) for s in sales]
        assert await asyncio.to_thread(committing.wait, 10)
        await asyncio.sleep(0.05)  # time enough for an early reply to arrive, were one sent
        assert not any(f.done() for f in futures), "a reply went out before the commit"
        release.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    lost = run(scenario(expect_failure=True))
    assert all(isinstance(r, OSError) for r in lost)
    assert _seqs(db) == []
    assert not any(_has_sale(db, s.id) for s in sales)

    kept = run(scenario(expect_failure=False))  # the same sales again: nothing of the failed try remains
    assert all(isinstance(r, SaleAccepted) and not r.duplicate for r in kept)
    assert _seqs(db) == list(range(1, 10))
    event.remove(db.engine, "commit", on_commit)


def test_jobs_and_write_requests_keep_their_order(db: Database) -> None:
    order: list[str] = []

    def job(name: str) -> None:
        order.append(name)

    def write(_session: Session, name: str) -> None:
        order.append(name)

    async def scenario() -> None:
        await asyncio.gather(
            db.run_write(write, "w1"), db.run(job, "j1"), db.run_write(write, "w2"), db.run_write(write, "w3")
        )

    run(scenario())
    assert order == ["w1", "j1", "w2", "w3"]


def test_a_request_whose_flush_fails_fails_alone_and_its_neighbours_are_written(db: Database) -> None:
    """An ORM flush that fails makes SQLAlchemy roll back the whole transaction, savepoint or
    not: the failing request is refused alone, and the others in its group, none of them
    answered yet, are run again and committed; nothing answered is lost."""
    run(in_one_group(db, [(_add_category, "Dup")]))
    before, after = _sale(), _sale()
    results = run(in_one_group(db, [(_submit, before), (_add_category, "Dup"), (_submit, after)]))

    assert isinstance(results[0], SaleAccepted)
    assert isinstance(results[1], IntegrityError)  # the duplicate category, as it was raised
    assert isinstance(results[2], SaleAccepted)
    assert _has_sale(db, before.id)
    assert _has_sale(db, after.id)
    assert _seqs(db) == list(range(1, 7))  # two 2-line sales: nothing lost, no gap


def test_a_lone_request_that_hides_a_failed_flush_is_not_acknowledged(db: Database) -> None:
    run(in_one_group(db, [(_add_category, "Dup")]))

    def swallow(session: Session) -> str:
        with contextlib.suppress(IntegrityError):
            _add_category(session, "Dup")
        return "written?"

    with pytest.raises(TransactionLost):
        run(db.run_write(swallow))


def test_the_feed_counter_stays_locked_after_a_refused_request_took_the_lock(db: Database) -> None:
    """On PostgreSQL a rollback to a savepoint releases row locks taken inside it; the next
    request must lock the counter again, not trust the lock the refused one had."""
    if db.is_sqlite:
        return  # SQLite's write lock is the whole database, held by BEGIN IMMEDIATE
    dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    seen: dict[str, bool] = {}

    def take_lock_then_fail(session: Session) -> None:
        lock_feed(session)
        raise Boom

    def probe(session: Session) -> None:
        lock_feed(session)
        with psycopg.connect(dsn) as other:
            other.execute("SET lock_timeout = '300ms'")
            try:
                other.execute("SELECT last_seq FROM feed_state WHERE id = 1 FOR UPDATE")
                seen["other_got_the_lock"] = True
            except psycopg.errors.LockNotAvailable:
                seen["other_got_the_lock"] = False

    run(in_one_group(db, [(take_lock_then_fail,), (probe,)]))
    assert seen == {"other_got_the_lock": False}


# Sales run together: ``submit_sale`` is marked ``runs_together(submit_sales)``, so the sales of
# one group are checked and written as one batch. ``_direct`` calls it as the register endpoint does.


def _direct(sale: Sale) -> tuple[Any, ...]:
    return (submit_sale, sale, payload_hash(sale), None, None)


class _Together:
    """Stands in for ``submit_sales`` on ``submit_sale``'s mark: counts the calls, runs the real
    one, then does ``after`` (a failure to provoke)."""

    def __init__(self, after: Any = None) -> None:
        self.sizes: list[int] = []
        self.after = after

    def __call__(self, session: Session, calls: list[tuple[Any, ...]]) -> list[Any]:
        self.sizes.append(len(calls))
        results = submit_sales(session, calls)
        if self.after is not None:
            self.after(session)
        return results


def _spy(monkeypatch: pytest.MonkeyPatch, after: Any = None) -> _Together:
    spy = _Together(after)
    assert getattr(submit_sale, TOGETHER) is submit_sales
    monkeypatch.setattr(submit_sale, TOGETHER, spy)
    return spy


def _ahead(sale: Sale) -> Sale:
    wire = sale.to_wire()
    wire["created_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return Sale.from_wire(wire)


def _level(db: Database, sku: str) -> tuple[int, int]:
    with db.read() as session:
        level = session.get_one(StockLevel, (sku, DEFAULT_LOCATION))
        return level.on_hand, level.reserved


def _events(db: Database) -> list[tuple[int, str, dict[str, Any]]]:
    with db.read() as session:
        rows = session.scalars(select(FeedEventRow).order_by(FeedEventRow.seq))
        return [(row.seq, row.type, json.loads(row.payload)) for row in rows]


def _counter(db: Database) -> int:
    with db.read() as session:
        return session.get_one(FeedState, 1).last_seq


def test_the_sales_of_a_group_run_together_and_each_gets_its_own_answer(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _spy(monkeypatch)
    first = _sale([("SKU-0001", 2)])
    second = _sale([("SKU-0001", 3), ("SKU-0002", 1)])
    wire = _sale().to_wire()
    wire["lines"][0]["sku"] = "NO-SUCH-SKU"
    unknown = Sale.from_wire(wire)
    conflicting = _sale([("SKU-0003", 1)], sale_id=first.id)
    calls = [
        _direct(first),
        (_add_category, "Tea"),  # not a sale: runs on its own, after the sales
        _direct(unknown),
        _direct(second),
        _direct(first),  # a resend while the first is still in the group
        _direct(conflicting),
        _direct(_ahead(_sale())),
    ]
    results = run(in_one_group(db, calls))

    assert spy.sizes == [6]
    accepted, tea, refused, other, again, conflict, ahead = results
    assert isinstance(accepted, SaleAccepted)
    assert (accepted.seq, accepted.duplicate) == (1, False)
    assert tea == 5
    assert isinstance(refused, UnknownSku)
    assert isinstance(other, SaleAccepted)
    assert other.seq == 3
    assert isinstance(again, SaleAccepted)
    assert (again.seq, again.duplicate) == (1, True)
    assert isinstance(conflict, IdempotencyConflict)
    assert isinstance(ahead, SaleRefused)
    # The second sale saw the stock as the first left it, and the feed says so in order.
    assert _level(db, "SKU-0001") == (10 - 2 - 3, 0)
    assert _level(db, "SKU-0002") == (5 - 1, 0)
    events = _events(db)
    assert [(seq, kind) for seq, kind, _ in events] == [
        (1, "sale.completed"),
        (2, "stock.changed"),
        (3, "sale.completed"),
        (4, "stock.changed"),
        (5, "stock.changed"),
    ]
    assert [data["on_hand"] for _, kind, data in events if kind == "stock.changed"] == [8, 5, 4]
    assert _counter(db) == 5
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SaleRow)) == 2
        assert set(session.scalars(select(RequestRecord.key))) == {first.id, second.id}
        sold = select(func.count()).select_from(StockMovement).where(StockMovement.document_type == "sale")
        assert session.scalar(sold) == 3

    [later] = run(in_one_group(db, [_direct(second)]))  # alone: the one-by-one path, same answer
    assert isinstance(later, SaleAccepted)
    assert (later.seq, later.duplicate) == (3, True)


def test_sales_run_together_that_fail_are_rolled_back_and_run_one_by_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(_session: Session) -> None:
        raise Boom

    spy = _spy(monkeypatch, after=fail)
    sales = [_sale([("SKU-0001", 1)]) for _ in range(3)]
    results = run(in_one_group(db, [_direct(sale) for sale in sales]))

    assert spy.sizes == [3]
    assert all(isinstance(r, SaleAccepted) and not r.duplicate for r in results)
    assert [r.seq for r in results] == [1, 3, 5]  # nothing of the failed batch took a seq
    assert _seqs(db) == list(range(1, 7))
    assert _counter(db) == 6
    assert _level(db, "SKU-0001") == (7, 0)
    assert all(_has_sale(db, sale.id) for sale in sales)


def test_sales_run_together_that_lose_the_transaction_run_again_one_by_one_with_their_group(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed ORM flush inside the batch rolls back the whole transaction (``TransactionLost``):
    the group, nothing of it answered, runs again with each request on its own."""
    run(in_one_group(db, [(_add_category, "Dup")]))

    def lose(session: Session) -> None:
        session.add(Category(name="Dup", safety_stock=1))
        session.flush()

    spy = _spy(monkeypatch, after=lose)
    sales = [_sale([("SKU-0002", 1)]) for _ in range(2)]
    results = run(in_one_group(db, [_direct(sales[0]), (_add_category, "Tea"), _direct(sales[1])]))

    assert spy.sizes == [2]  # once together; the second time each ran on its own
    assert isinstance(results[0], SaleAccepted)
    assert results[1] == 5
    assert isinstance(results[2], SaleAccepted)
    assert [results[0].seq, results[2].seq] == [1, 3]
    assert _seqs(db) == [1, 2, 3, 4]
    assert _level(db, "SKU-0002") == (3, 0)


def _reserve(session: Session, sku: str, quantity: int) -> object:
    return reserve(session, Reserve(new_id(), "storefront:test", (StockLine(sku, quantity),), ttl_s=600))


def test_a_sale_run_together_that_uncovers_a_reservation_flags_it_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as session:
        reserve(session, Reserve(new_id(), "storefront:test", (StockLine("SKU-0002", 4),), ttl_s=600))
    reserved_seq = _counter(db)
    spy = _spy(monkeypatch)
    covered = _sale([("SKU-0002", 1)])  # on hand 4, reserved 4: still covered
    uncovering = _sale([("SKU-0002", 2), ("SKU-0001", 1)])  # on hand 2 under reserved 4
    before = _sale([("SKU-0003", 1)])
    # The last sale flags: the counter must stay at its exception's event, not go back before
    # it, and the reservation after the sales numbers its events from there.
    calls = [_direct(before), (_reserve, "SKU-0001", 1), _direct(covered), _direct(uncovering)]
    results = run(in_one_group(db, calls))
    reserved = results.pop(1)
    assert not isinstance(reserved, Exception), reserved

    assert spy.sizes == [3]
    assert isinstance(results[1], SaleAccepted)
    assert results[1].exceptions == ()
    assert isinstance(results[2], SaleAccepted)
    assert len(results[2].exceptions) == 1
    kinds = [kind for seq, kind, _ in _events(db) if seq > reserved_seq]
    assert kinds == [
        "sale.completed",
        "stock.changed",
        "sale.completed",
        "stock.changed",
        "sale.completed",
        "stock.changed",
        "stock.changed",
        "reservation.at_risk",
        "stock.changed",
        "reservation.granted",
    ]
    assert _seqs(db) == list(range(1, reserved_seq + 11))
    assert _counter(db) == reserved_seq + 10
    assert _level(db, "SKU-0002") == (2, 4)
    with db.read() as session:
        [flagged] = session.scalars(select(InventoryException))
        assert (flagged.document_id, flagged.sku) == (uncovering.id, "SKU-0002")
        assert (flagged.on_hand, flagged.reserved) == (2, 4)


def test_sales_sent_without_the_optional_arguments_run_together_too(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spy = _spy(monkeypatch)
    sales = [_sale([("SKU-0001", 1)]) for _ in range(3)]
    results = run(in_one_group(db, [(submit_sale, sale, payload_hash(sale)) for sale in sales]))

    assert spy.sizes == [3]
    assert [r.seq for r in results if isinstance(r, SaleAccepted)] == [1, 3, 5]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no fall-back to one by one


def test_reads_for_many_sales_go_in_several_in_lists(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A group's SKUs and request ids could pass the driver's limit on parameters in one query."""
    monkeypatch.setattr(rows, "IN_CHUNK", 2)
    spy = _spy(monkeypatch)
    first = _sale([("SKU-0001", 1), ("SKU-0002", 1), ("SKU-0003", 1)])
    run(in_one_group(db, [_direct(first)]))
    later = [_sale([("SKU-0001", 1), ("SKU-0002", 1), ("SKU-0003", 1)]) for _ in range(2)]
    results = run(in_one_group(db, [_direct(first), *(_direct(sale) for sale in later)]))

    assert spy.sizes == [3]
    assert isinstance(results[0], SaleAccepted)
    assert results[0].duplicate  # its stored record was found among several IN lists
    assert all(isinstance(r, SaleAccepted) and not r.duplicate for r in results[1:])
    assert _level(db, "SKU-0001") == (10 - 3, 0)
    assert _level(db, "SKU-0003") == (3 - 3, 0)
