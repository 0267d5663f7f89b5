"""Group commit on the one database thread: requests share a commit, never each other's failures.

Requests are made to wait behind a job that holds the database thread, so they are sure to
be committed together; ``writer.groups`` proves they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pos_core.sale import Sale
from store_server.db.engine import Database, open_database
from store_server.db.models import Category, FeedEventRow, RequestRecord, SaleRow
from store_server.db.savepoint import TransactionLost
from store_server.errors import IdempotencyConflict, UnknownSku
from store_server.usecases.feed import lock_feed
from store_server.usecases.sales import SaleAccepted, payload_hash, submit_sale
from tests.server.support import make_sale, prepare_store, run

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    prepare_store(url)
    database = open_database(url)
    yield database
    database.close()


class Boom(Exception):
    """A request that fails after it has written."""


def _sale(items: list[tuple[str, int]] | None = None, sale_id: str | None = None) -> Sale:
    return Sale.from_wire(make_sale(items or [("SKU-0001", 1), ("SKU-0002", 1)], sale_id=sale_id))


def _submit(session: Session, sale: Sale) -> SaleAccepted:
    return submit_sale(session, sale, payload_hash(sale))


def _submit_then_fail(session: Session, sale: Sale) -> SaleAccepted:
    _submit(session, sale)  # writes the sale, its movements and its events ...
    raise Boom  # ... which must all go


async def _together(db: Database, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``(fn, *args)`` write requests in one group; their results or exceptions, in order."""
    gate, entered = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        gate.wait(10)

    held = asyncio.ensure_future(db.run(hold))
    assert await asyncio.to_thread(entered.wait, 10), "the database thread never took the gate"
    before = db.writer.groups
    futures = [asyncio.ensure_future(db.run_write(fn, *args)) for fn, *args in calls]
    for _ in range(1000):  # let each request reach the writer's queue behind the gate
        if db.writer.queued() >= len(calls):
            break
        await asyncio.sleep(0)
    assert db.writer.queued() == len(calls)
    gate.set()
    await held
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert db.writer.groups == before + 1, "the requests were meant to share one commit"
    return results


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
    results = run(_together(db, calls))

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
    results = run(_together(db, calls))

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
    first, again, conflict = run(_together(db, [(_submit, sale), (_submit, sale), (_submit, conflicting)]))
    assert isinstance(first, SaleAccepted)
    assert not first.duplicate
    assert isinstance(again, SaleAccepted)
    assert again.duplicate
    assert again.seq == first.seq
    assert isinstance(conflict, IdempotencyConflict)

    [later] = run(_together(db, [(_submit, sale)]))
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
    run(_together(db, [(_add_category, "Dup")]))
    before, after = _sale(), _sale()
    results = run(_together(db, [(_submit, before), (_add_category, "Dup"), (_submit, after)]))

    assert isinstance(results[0], SaleAccepted)
    assert isinstance(results[1], IntegrityError)  # the duplicate category, as it was raised
    assert isinstance(results[2], SaleAccepted)
    assert _has_sale(db, before.id)
    assert _has_sale(db, after.id)
    assert _seqs(db) == list(range(1, 7))  # two 2-line sales: nothing lost, no gap


def test_a_lone_request_that_hides_a_failed_flush_is_not_acknowledged(db: Database) -> None:
    run(_together(db, [(_add_category, "Dup")]))

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

    run(_together(db, [(take_lock_then_fail,), (probe,)]))
    assert seen == {"other_got_the_lock": False}
