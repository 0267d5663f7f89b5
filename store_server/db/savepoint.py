"""SAVEPOINTs sent straight to the driver, with the session's bookkeeping done by hand.

SQLAlchemy's ``Session.begin_nested`` costs more than a whole sale's statements (it compiles
the savepoint and snapshots the session at each level), and the one database thread pays it
for every request of a group commit. ``savepoint`` sends ``SAVEPOINT``/``RELEASE``/``ROLLBACK
TO`` itself and keeps the session true the way ``begin_nested`` would: the block's ORM changes
are flushed inside the savepoint, and after a rollback the objects the block inserted are
dropped from the session and every other object is expired, to be read again as the database
has it (rows written with plain statements, ``usecases.rows``, are stale as well), and facts
cached in ``Session.info`` during the block are forgotten. On SQLite, a block that changed no
row (the connection's ``total_changes`` says so) and no object expires nothing: refusals
before any write are most refusals, and re-reading the feed counter after each cost ~100 us.

One failure a driver-level savepoint cannot contain: when an ORM flush fails, SQLAlchemy rolls
back the whole transaction. ``savepoint`` then raises ``TransactionLost`` (nothing of the
transaction is kept), and the group writer runs the block's neighbours again in a new
transaction (``store_server.db.writer``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


class TransactionLost(Exception):
    """The whole transaction was rolled back, not only a savepoint: SQLAlchemy does that when an
    ORM flush fails, since it does not know of savepoints sent to the driver. Nothing of the
    transaction was written; the exception's ``__cause__`` is what went wrong."""


_INSERTED = "pos_savepoint_inserted"
"""``Session.info`` key: one list per open savepoint, of the objects inserted since it began."""


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """Run the block inside a savepoint of the session's transaction; an exception rolls back
    to it (and is raised again), leaving the transaction usable."""
    driver = session.connection().connection.dbapi_connection
    assert driver is not None  # the session's transaction is open
    stack: list[list[object]] = session.info.setdefault(_INSERTED, [])
    name = f"pos_sp_{len(stack)}"
    inserted: list[object] = []
    stack.append(inserted)
    cached = set(session.info)
    changes = _changes(driver)
    _run(driver, f"SAVEPOINT {name}")
    try:
        yield
        session.flush()
    except BaseException as exc:
        transaction = session.get_transaction()
        if transaction is None or not transaction.is_active:
            raise TransactionLost("The transaction was rolled back by a failed write; nothing of it was kept.") from exc
        untouched = changes is not None and _changes(driver) == changes and not (session.dirty or session.deleted)
        _run(driver, f"ROLLBACK TO SAVEPOINT {name}")
        _run(driver, f"RELEASE SAVEPOINT {name}")
        for obj in [*inserted, *session.new]:
            if obj in session:
                session.expunge(obj)
        if not untouched:
            # Expired, each object is read again when next used (the feed counter by the next
            # request of the group). A block refused before it wrote (most refusals: a
            # reservation of stock that is not there) changed no row and left no object
            # changed: every object in the session is still as the database has it.
            session.expire_all()
        # Facts cached for the transaction inside the block went with it (a row lock taken in
        # the savepoint, such as the feed counter's, is released by the rollback on PostgreSQL).
        for key in set(session.info) - cached:
            del session.info[key]
        raise
    else:
        _run(driver, f"RELEASE SAVEPOINT {name}")
    finally:
        stack.pop()


@event.listens_for(Session, "pending_to_persistent")
def _note_insert(session: Session, instance: object) -> None:
    """Note an inserted object in every open savepoint: rolling back any of them drops it."""
    for inserted in session.info.get(_INSERTED, ()):
        inserted.append(instance)


def _changes(driver: Any) -> int | None:
    """Rows the connection has inserted, updated or deleted since it opened (SQLite's
    ``total_changes``); None for a driver that does not count them (psycopg)."""
    counted = getattr(driver, "total_changes", None)
    return counted if isinstance(counted, int) else None


def _run(driver: Any, sql: str) -> None:
    cursor = driver.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
