"""``savepoint``: a rolled-back block leaves the session as the database has it, and a block
that changed nothing (on SQLite) leaves the objects loaded, not expired."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from store_server.db.engine import Database
from store_server.db.models import Category, FeedState, StockLevel
from store_server.db.savepoint import savepoint
from store_server.usecases.feed import FEED_STATE_ID, lock_feed
from store_server.usecases.stock import assign
from tests.server.support import prepared_db

__all__ = ["prepared_db"]


class Refused(Exception):
    pass


def _refuse_in_savepoint(session: Session, block: Callable[[], None]) -> None:
    with pytest.raises(Refused):
        _refused_block(session, block)


def _refused_block(session: Session, block: Callable[[], None]) -> None:
    with savepoint(session):
        block()
        raise Refused


def test_a_block_that_wrote_rows_leaves_every_object_to_be_read_again(db: Database) -> None:
    with db.write() as session:
        state = session.get_one(FeedState, FEED_STATE_ID)
        before = state.last_seq

        def write() -> None:
            session.execute(text("UPDATE feed_state SET last_seq = last_seq + 5 WHERE id = :id"), {"id": state.id})

        _refuse_in_savepoint(session, write)
        assert inspect(state).expired
        assert state.last_seq == before  # read again: the rollback undid the update


def test_a_block_that_changed_an_object_without_writing_it_loses_the_change(db: Database) -> None:
    with db.write() as session:
        state = session.get_one(FeedState, FEED_STATE_ID)
        before = state.last_seq

        def change() -> None:
            state.last_seq = before + 7  # pending, never flushed: the refusal must drop it

        _refuse_in_savepoint(session, change)
        assert state.last_seq == before
        session.flush()
    with db.read() as session:
        assert session.get_one(FeedState, FEED_STATE_ID).last_seq == before


def test_a_block_refused_before_it_wrote_keeps_the_objects_loaded_on_sqlite(db: Database) -> None:
    with db.write() as session:
        state = session.get_one(FeedState, FEED_STATE_ID)

        def read_only() -> None:
            session.scalars(select(Category.name)).all()
            session.execute(text("UPDATE feed_state SET last_seq = 0 WHERE id = -1"))  # matches no row

        _refuse_in_savepoint(session, read_only)
        # PostgreSQL's driver does not count changed rows: there every refusal expires.
        assert inspect(state).expired is (db.engine.dialect.name != "sqlite")
        assert state.last_seq == session.execute(text("SELECT last_seq FROM feed_state")).scalar_one()


def test_a_block_that_told_an_object_a_value_before_writing_it_leaves_it_read_again(db: Database) -> None:
    """A write batch tells a level its new figures before the batch is flushed: refused in
    between, no row changed, yet the object holds figures the database never had."""
    with db.write() as session:
        level = session.get_one(StockLevel, ("SKU-0001", "main"))
        before = level.on_hand

        def moved_in_a_batch() -> None:
            assign(level, before - 4, level.reserved)  # the batch's UPDATE never ran

        _refuse_in_savepoint(session, moved_in_a_batch)
        assert level.on_hand == before


def test_a_block_refused_before_it_wrote_keeps_the_feed_lock_on_sqlite_only(db: Database) -> None:
    """The counter locked inside a refused block stays locked (and read) for the next request on
    SQLite, where the write lock is the transaction's; PostgreSQL's rollback released the row
    lock, so there it is taken again."""
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM feed_state" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as session:

            def lock() -> None:
                lock_feed(session)

            _refuse_in_savepoint(session, lock)
            lock_feed(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(reads) == (1 if db.engine.dialect.name == "sqlite" else 2)
