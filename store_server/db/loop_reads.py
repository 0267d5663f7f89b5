"""Short reads of a SQLite file on the event loop's own thread.

A feed consumer following the live tail reads a few rows after each group commit. Handing
such a read to the readers' thread cost the event loop more than the read itself: py-spy had
``ThreadPoolExecutor.submit`` at 14 % of the loop's samples under full load, waking the thread
and waiting to win the GIL back (docs/benchmarks.md). In WAL mode a reader does not wait for
the writer, so the loop can read a few rows for itself. Longer reads (a consumer catching up)
stay on the readers' thread: a read of 200 events takes a millisecond or more, and the loop
must not stop for it.

It never waits on a lock (no busy timeout): in the rare moments SQLite cannot start a read at
once (its log being recovered, say), ``fetch_all`` returns ``None`` (``snapshot`` raises
``ReadBusy``) and the caller reads on the readers' thread instead, which may wait.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Fetch = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]
"""Every row of a statement with ``:name`` parameters."""


class ReadBusy(Exception):
    """SQLite could not start or go on with a read without waiting; read elsewhere."""


class LoopReads:
    """One read-only connection, used by one thread at a time (the event loop's)."""

    def __init__(self, path: str) -> None:
        # mode=rw: never create a database that is not there; timeout=0: never wait for a lock.
        uri = f"{Path(path).resolve().as_uri()}?mode=rw"
        self._conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA query_only = ON")

    def fetch_all(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]] | None:
        """Every row of ``sql`` (``:name`` parameters), or ``None`` when SQLite is busy."""
        try:
            return self._rows(sql, params)
        except ReadBusy:
            return None

    @contextmanager
    def snapshot(self) -> Iterator[Fetch]:
        """Several reads of one state of the database: a read transaction for the block.

        Raises:
            ReadBusy: SQLite is busy (nothing has been read, or what was is to be thrown away).
        """
        self._conn.execute("BEGIN")
        try:
            yield self._rows
        finally:
            self._conn.execute("ROLLBACK")

    def _rows(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            # Errors the sqlite3 module raises itself (a column it cannot decode) have no code.
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            log.debug("loop read busy (%s); reading on the readers' thread", exc)
            raise ReadBusy(str(exc)) from None

    def close(self) -> None:
        self._conn.close()
