"""Plain SQL on the session's connection: the hot path's reads and writes.

A sale writes a dozen rows that are never read back in its own transaction, and updates a
few level rows. Building an ORM object for each and letting the unit of work sort them costs
several times the statements themselves, and so does SQLAlchemy's statement machinery for
one-row statements; on the one database thread that is the store's throughput. These helpers
send hand-written statements (``:name`` parameters, rewritten once for drivers that want
``%(name)s``, or sent by position in a ``statement_batch``) straight to the driver's cursor,
inside the session's transaction, after any object still pending in the session, so foreign
keys always find their rows.

An ORM object whose row is changed here must be told (``db.savepoint.tell``), so it stays
true without being flushed again; after a rollback to a savepoint the caller expires the
session (``store_server.db.writer`` and ``requests.run_once`` do).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase, Session

from store_server.db.engine import SESSION_CACHE
from store_server.db.savepoint import driver_connection

T = TypeVar("T")
_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def cached(session: Session, key: str, load: Callable[[], T]) -> T:
    """A fact that never changes while the database is open (the store's currency), loaded once.

    Sessions of ``Database`` share one cache per open database; any other session loads each time.
    """
    store: dict[str, Any] | None = session.info.get(SESSION_CACHE)
    if store is None:
        return load()
    if key not in store:
        store[key] = load()
    value: T = store[key]
    return value


def execute(session: Session, sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    """Run ``sql`` with ``:name`` parameters on the session's connection; returns the DBAPI cursor.

    A sequence of parameter sets runs as one ``executemany``.
    """
    session.flush()  # cheap when nothing is pending; a row may refer to one that is
    cursor = driver_connection(session).cursor()
    text = sql if _named(session) else _pyformat(sql)
    if isinstance(params, Mapping):
        cursor.execute(text, params)
    else:
        cursor.executemany(text, params)
    return cursor


class Statements:
    """Writes on one cursor of the driver, with ``:name`` statements and rows of name -> value.

    They go to the driver with positional parameters (``?``, or ``%s`` for psycopg) and each
    row as a tuple: SQLite binds a named parameter by making its name a string and looking it
    up in the row for every value of every row, 1.4 us more for a movement's 14 columns than
    binding by position (docs/benchmarks.md).
    """

    __slots__ = ("_cursor", "_marker")

    def __init__(self, cursor: Any, marker: str) -> None:
        self._cursor = cursor
        self._marker = marker

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        text, values = _positional(sql, self._marker)
        self._cursor.executemany(text, list(map(values, rows)))

    def execute(self, sql: str, params: Mapping[str, Any]) -> None:
        text, values = _positional(sql, self._marker)
        self._cursor.execute(text, values(params))


@cache
def _positional(sql: str, marker: str) -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """``sql`` with each ``:name`` made ``marker``, and the function that takes a row's values
    in that order (a name used twice is taken twice)."""
    names = _PARAM.findall(sql)
    if not names:
        raise ValueError(f"no :name parameters in {sql!r}")
    escaped = sql.replace("%", "%%") if marker == "%s" else sql
    text = _PARAM.sub(lambda _: marker, escaped)
    if len(names) == 1:
        [name] = names
        return text, lambda row: (row[name],)
    getter: Callable[[Mapping[str, Any]], tuple[Any, ...]] = itemgetter(*names)
    return text, getter


@contextmanager
def statement_batch(session: Session) -> Iterator[Statements]:
    """``Statements`` on a cursor of the driver's connection inside the session's transaction,
    for many writes in a row.

    On PostgreSQL (psycopg) the writes go in one pipeline: sent together and answered with one
    round trip when the block ends, where an error in any of them is raised. Each
    ``executemany`` alone would wait for its own answer; a sale's dozen waits were most of
    its time on PostgreSQL (docs/benchmarks.md). Read nothing back inside the block.
    """
    session.flush()
    driver = driver_connection(session)
    pipeline = driver.pipeline() if _pipelines(driver) else contextlib.nullcontext()
    cursor = None
    try:
        with pipeline:
            cursor = driver.cursor()
            yield Statements(cursor, "?" if _named(session) else "%s")
    finally:
        if cursor is not None:
            cursor.close()


def _pipelines(driver: Any) -> bool:
    """Whether the driver's connection takes pipelines (psycopg on a libpq of 14 or later)."""
    if not hasattr(driver, "pipeline"):
        return False
    import psycopg  # only a psycopg connection has ``pipeline``

    return bool(psycopg.Pipeline.is_supported())


def fetch_all(session: Session, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects, as tuples."""
    cursor = execute(session, sql, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def insert_rows(session: Session, model: type[DeclarativeBase], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every column name -> value) into ``model``'s table."""
    if rows:
        execute(session, insert_sql(model), rows[0] if len(rows) == 1 else rows).close()


def insert_sql(model: type[DeclarativeBase]) -> str:
    """``INSERT`` of every column of ``model``'s table, with ``:column`` parameters."""
    return _insert_sql(model.__table__)


IN_CHUNK = 500
"""Values per ``IN`` list in ``fetch_in``: far under SQLite's limit of 32,766 parameters."""


def fetch_in(
    session: Session, sql: str, values: Sequence[Any], params: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects for ``values``, where ``sql`` says ``IN (:values)``: one query
    for each ``IN_CHUNK`` of them, so a group commit's many sales never pass the driver's limit."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(values), IN_CHUNK):
        listed, chunk = in_list("value", values[start : start + IN_CHUNK])
        rows += fetch_all(session, sql.replace("(:values)", listed), {**(params or {}), **chunk})
    return rows


def in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:name_0, :name_1, ...)`` and its parameters, for ``IN``."""
    params = {f"{name}_{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params


def _named(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.paramstyle in ("named", "qmark")  # pysqlite takes :name whatever it reports


@cache
def _pyformat(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


@cache
def _insert_sql(table: Any) -> str:
    assert isinstance(table, Table)
    names = [column.name for column in table.columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join(":" + n for n in names)
    return f"INSERT INTO {table.name} ({quoted}) VALUES ({placeholders})"  # noqa: S608 - names from our own models
