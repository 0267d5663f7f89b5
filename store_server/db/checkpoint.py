"""Moving SQLite's write-ahead log into the database file, off the writer's thread.

In WAL mode every commit appends pages to ``store.db-wal``; a checkpoint copies them into the
database file and fsyncs it. By default SQLite checkpoints inside the commit that takes the log
past 1,000 pages, so one sale in every few hundred waits for that copy and two fsyncs on the one
database thread that every other sale waits for (it halved the store's throughput). The
``Checkpointer`` does it on a thread of its own, with its own connection, a ``PASSIVE``
checkpoint at a time: it never blocks the writer or a reader, and copies what no reader still
needs. The writer keeps SQLite's own checkpoint at ``BACKSTOP_PAGES`` (about 64 MB), so the log
stays bounded even if this thread fell behind or stopped.

Durability does not change: a commit is durable when its log pages are synced
(``synchronous=FULL``), before any checkpoint.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 16_000
"""``wal_autocheckpoint`` of the writer's connection: SQLite checkpoints inline past this."""
INTERVAL_S = 0.25
"""Seconds between background checkpoints while the store is writing."""


class Checkpointer:
    """A thread that checkpoints the database at ``path`` while writes happen.

    ``wrote()`` (called after each commit) tells it there is something to copy; it then
    checkpoints at most every ``interval_s``.
    """

    def __init__(self, path: str, interval_s: float = INTERVAL_S, busy_timeout_ms: int = 30_000) -> None:
        self._path = path
        self._interval_s = interval_s
        self._busy_timeout_ms = busy_timeout_ms
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self.checkpoints = 0
        """Checkpoints run so far (for tests and benchmarks)."""
        self._ran = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="store-db-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """Note that a commit added to the log."""
        self._dirty.set()

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` checkpoints have run; False if ``timeout_s`` passed first."""
        with self._ran:
            return self._ran.wait_for(lambda: self.checkpoints >= count, timeout_s)

    def close(self) -> None:
        """Run a last checkpoint if one is due, then stop the thread."""
        self._stopping.set()
        self._dirty.set()
        self._thread.join()

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            while True:
                self._dirty.wait()
                if self._stopping.is_set():
                    self._checkpoint(conn)
                    return
                self._dirty.clear()
                self._checkpoint(conn)
                self._stopping.wait(self._interval_s)
        except sqlite3.Error as exc:  # the writer's own backstop still bounds the log
            log.error("background checkpoints stopped (%s); SQLite checkpoints inline from now on", exc)
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        busy, log_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        with self._ran:
            self.checkpoints += 1
            self._ran.notify_all()
        log.debug("checkpoint busy=%s log_pages=%s copied=%s", busy, log_pages, copied)
