"""SAVEPOINTs sent straight to the driver, with the session's bookkeeping done by hand.

SQLAlchemy's ``Session.begin_nested`` costs more than a whole sale's statements (it compiles
the savepoint and snapshots the session at each level), and the one database thread pays it
for every request of a group commit. ``savepoint`` sends ``SAVEPOINT``/``RELEASE``/``ROLLBACK
TO`` itself and keeps the session true the way ``begin_nested`` would: the block's ORM changes
are flushed inside the savepoint, and after a rollback the objects the block inserted are
dropped from the session and every other object is expired, to be read again as the database
has it (rows written with plain statements, ``usecases.rows``, are stale as well), and facts
cached in ``Session.info`` during the block are forgotten. On SQLite, a block that changed no
row (the connection's ``total_changes`` says so), no object, and told no object a value
(``tell``) expires and forgets nothing: refusals before any write are most refusals, and
reading and locking the feed counter again after each cost ~100 us.

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
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value


class TransactionLost(Exception):
    """The whole transaction was rolled back, not only a savepoint: SQLAlchemy does that when an
    ORM flush fails, since it does not know of savepoints sent to the driver. Nothing of the
    transaction was written; the exception's ``__cause__`` is what went wrong."""


_INSERTED = "pos_savepoint_inserted"
"""``Session.info`` key: one list per open savepoint, of the objects inserted since it began."""
_DRIVER = "pos_savepoint_driver"
"""``Session.info`` key: the transaction and the driver's connection under it."""
_TOLD = "pos_savepoint_told"
"""``Session.info`` key: how many times ``tell`` set an object's committed values."""


def tell(obj: object, **values: Any) -> None:
    """Set an ORM object's attributes to what its row holds, or will hold once a write batch is
    flushed, without the session writing them again (``set_committed_value``).

    Noted in the object's session: a savepoint rolled back after this expires every object,
    even if no row has changed yet.
    """
    session = object_session(obj)
    if session is not None:
        session.info[_TOLD] = session.info.get(_TOLD, 0) + 1
    for name, value in values.items():
        set_committed_value(obj, name, value)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """Run the block inside a savepoint of the session's transaction; an exception rolls back
    to it (and is raised again), leaving the transaction usable."""
    driver = driver_connection(session)
    stack: list[list[object]] = session.info.setdefault(_INSERTED, [])
    name = f"pos_sp_{len(stack)}"
    inserted: list[object] = []
    stack.append(inserted)
    told = session.info.setdefault(_TOLD, 0)
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
        untouched = (
            changes is not None
            and _changes(driver) == changes
            and session.info[_TOLD] == told
            and not (session.dirty or session.deleted)
        )
        _run(driver, f"ROLLBACK TO SAVEPOINT {name}")
        _run(driver, f"RELEASE SAVEPOINT {name}")
        for obj in [*inserted, *session.new]:
            if obj in session:
                session.expunge(obj)
        if not untouched:
            # Expired, each object is read again when next used (the feed counter by the next
            # request of the group). A block refused before it wrote (most refusals: a
            # reservation of stock that is not there) changed no row, left no object changed
            # and told none a value (``tell``, say a level moved in a write batch not yet
            # flushed): every object in the session is still as the database has it, and so
            # is what it cached.
            session.expire_all()
            # Facts cached for the transaction inside the block went with it (a row lock taken
            # in the savepoint, such as the feed counter's, is released by the rollback on
            # PostgreSQL).
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


def driver_connection(session: Session) -> Any:
    """The driver's connection under the session's transaction, looked up once per transaction
    (``Session.connection`` costs more than most statements sent on it).

    Asking the session for its connection inside an ORM savepoint (``begin_nested``) is what
    emits that SAVEPOINT, so the innermost ORM transaction is the key.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_DRIVER)
    if held is not None and held[0] is transaction:
        return held[1]
    driver = session.connection().connection.dbapi_connection
    assert driver is not None  # the session's transaction is open
    session.info[_DRIVER] = (transaction, driver)
    return driver


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
