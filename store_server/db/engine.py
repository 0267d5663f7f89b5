"""Opening a store database: SQLite tuned for a till, or PostgreSQL, behind one writer path.

SQLite is opened in WAL mode with foreign keys on and ``synchronous=FULL``; write
transactions start with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock
upgrade. The asyncio server sends every write through one database thread
(``store_server.db.writer``): ``Database.run_write`` for a write request, committed together
with the others waiting at that moment (group commit, one fsync for many requests), and
``Database.run`` for anything else that must not race a writer. Reads go through
``Database.run_reader``, a second thread, so storefronts catching up never queue in front
of a sale; the feed's short reads of a SQLite file are made on the event loop itself
(``Database.loop_reads``, ``store_server.db.loop_reads``). The log is checkpointed on a
thread of its own (``store_server.db.checkpoint``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from store_server.db.checkpoint import BACKSTOP_PAGES, Checkpointer
from store_server.db.loop_reads import LoopReads
from store_server.db.savepoint import TransactionLost
from store_server.db.writer import GroupWriter
from store_server.db.writer_process import ProcessWriter
from store_server.errors import BadDatabaseUrl, DatabaseUnavailable, NotOurDatabase

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 32_768
"""SQLite's page cache per connection (its default is 2 MB): the levels and the indexes a sale
touches stay in memory."""
_WRITE = "pos_write"
SESSION_CACHE = "pos_cache"
"""``Session.info`` key of the facts cached while a database is open (``usecases.rows.cached``)."""
ALEMBIC_TABLE = "alembic_version"


class Database:
    """An open store database.

    Use ``write()`` for a transaction that changes state and ``read()`` for one that
    does not. From async code, ``await db.run_write(fn, ...)`` runs ``fn(session, ...)`` as a
    write request (group commit); ``await db.run(fn)`` runs any function on the database
    thread, and ``await db.run_reader(fn)`` a read-only one on the readers' thread.
    """

    def __init__(self, engine: Engine, *, writer_process: bool = False, writer_cpu: int | None = None) -> None:
        self.engine = engine
        self.url: URL = engine.url
        self.writer_process = writer_process
        self._writer_cpu = writer_cpu
        """Whether ``run_write`` and ``run`` go to a writer process (``store_server.db.writer_process``)
        instead of a thread of this one."""
        self._write_engine = engine.execution_options(**{_WRITE: True})
        self._writer: GroupWriter | ProcessWriter | None = None
        self._checkpointer: Checkpointer | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._loop_reads: LoopReads | None = None
        self._closed = False
        self._cache: dict[str, Any] = {}

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def describe(self) -> str:
        """Where the database lives, for messages; never includes a password."""
        if self.is_sqlite:
            return str(self.url.database)
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on error."""
        with Session(self._write_engine, expire_on_commit=False, info=self._info()) as session, session.begin():
            yield session
            transaction = session.get_transaction()
            if transaction is None or not transaction.is_active:  # a failed flush rolled it back
                raise TransactionLost("The transaction was rolled back by a failed write; nothing of it was kept.")
        if self._checkpointer is not None:
            self._checkpointer.wrote()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (deferred transaction, rolled back at the end)."""
        with Session(self.engine, expire_on_commit=False, info=self._info()) as session:
            try:
                yield session
            finally:
                session.rollback()

    def _info(self) -> dict[str, Any]:
        return {SESSION_CACHE: self._cache}

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session whose every query sees the same committed state.

        SQLite's deferred read transaction in WAL mode already does; PostgreSQL needs
        ``REPEATABLE READ`` (its default, ``READ COMMITTED``, looks again per statement).
        """
        bind = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @property
    def writer(self) -> GroupWriter | ProcessWriter:
        """The one database writer, a thread or a process (started on first use)."""
        if self._writer is None and self.writer_process:
            self._writer = ProcessWriter(self.url.render_as_string(hide_password=False), self, self._writer_cpu)
        if self._writer is None:
            if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
                self._checkpointer = Checkpointer(str(self.url.database), busy_timeout_ms=BUSY_TIMEOUT_MS)
            self._writer = GroupWriter(self.write)
        return self._writer

    def wait_for_checkpoint(self, after: int, timeout_s: float) -> bool:
        """Wait until more than ``after`` background checkpoints have run (for tests)."""
        return self._checkpointer is not None and self._checkpointer.wait_for(after + 1, timeout_s)

    @property
    def checkpoints(self) -> int:
        """Background checkpoints run so far (``store_server.db.checkpoint``; 0 without a writer)."""
        return 0 if self._checkpointer is None else self._checkpointer.checkpoints

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` alone on the one database thread and await its result."""
        return await self.writer.run(fn, *args)

    async def run_write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` as a write request and await its result.

        The request shares a transaction with the other requests waiting at that moment,
        inside its own savepoint; its result comes back only after that transaction has
        committed (``store_server.db.writer``).

        Raises:
            Whatever ``fn`` raised (nothing it wrote is kept), or the commit's error.
        """
        return await self.writer.write(fn, *args)

    async def run_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read-only ``fn(*args)`` on the readers' thread and await its result.

        An in-memory SQLite database exists once per connection, so it reads on the one thread.
        """
        if self.is_sqlite and self.url.database in (None, "", ":memory:"):
            return await self.run(fn, *args)
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-db-read")
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    def loop_reads(self) -> LoopReads | None:
        """For a SQLite file, a connection for short reads on the event loop's thread; else ``None``.

        Only one thread may use it, and only for reads that take well under a millisecond.
        """
        if self._closed:  # stopping: what still runs reads the way it would without one
            return None
        if self._loop_reads is None and self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            self._loop_reads = LoopReads(str(self.url.database))
        return self._loop_reads

    def close(self) -> None:
        """Stop the database threads and close every pooled connection."""
        self._closed = True
        if self._loop_reads is not None:
            self._loop_reads.close()
            self._loop_reads = None
        if self._writer is not None:
            self._writer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._reader is not None:
            self._reader.shutdown(wait=True)
        if not isinstance(self._writer, ProcessWriter):  # a closed writer process refuses what comes later
            self._writer = None
        self._reader = None
        self.engine.dispose()


def open_database(url: str, *, writer_process: bool = False, writer_cpu: int | None = None) -> Database:
    """Open (without changing) the database at ``url``.

    Args:
        url: a SQLAlchemy URL, ``sqlite:///path/store.db`` or ``postgresql+psycopg://...``.
        writer_process: write from a process of its own (``store_server.db.writer_process``);
            ignored for an in-memory SQLite database, which exists in this process only.
        writer_cpu: with ``writer_process``, a CPU for the writer alone (``store_server.db.cores``).

    Returns:
        The database, ready for ``migrate.upgrade`` or use.

    Raises:
        NotOurDatabase: the database holds other tables or is not a database at all;
            it is left untouched.
        DatabaseUnavailable: it cannot be reached.
        BadDatabaseUrl: ``url`` is not a URL, or names a database or driver we cannot use.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadDatabaseUrl(url, "not a URL") from None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            if not Path(path).parent.is_dir():
                raise DatabaseUnavailable(
                    f"Cannot open the database {path}: its directory does not exist; create it or check --db."
                )
            _refuse_foreign_sqlite(Path(path))
        engine = create_engine_for(url, parsed)
        _tune_sqlite(engine)
        writer_process = writer_process and bool(path) and path != ":memory:"
    else:
        engine = create_engine_for(url, parsed, pool_pre_ping=True)
        try:
            names = set(inspect(engine).get_table_names())
        except SQLAlchemyError as exc:
            engine.dispose()
            where = parsed.render_as_string(hide_password=True)
            raise DatabaseUnavailable.unreachable(where, exc) from None
        if names and ALEMBIC_TABLE not in names:
            engine.dispose()
            raise NotOurDatabase(parsed.render_as_string(hide_password=True))
    return Database(engine, writer_process=writer_process, writer_cpu=writer_cpu if writer_process else None)


def create_engine_for(url: str, parsed: URL, **kwargs: Any) -> Engine:
    """``create_engine``, with an unknown dialect or a missing driver as one sentence."""
    shown = parsed.render_as_string(hide_password=True) if parsed.password else url
    try:
        return create_engine(parsed, **kwargs)
    except ArgumentError:  # includes NoSuchModuleError: no such dialect or driver
        raise BadDatabaseUrl(shown, f"SQLAlchemy knows no database {parsed.drivername!r}") from None
    except ImportError as exc:
        raise BadDatabaseUrl(shown, f"its driver {exc.name or parsed.drivername!r} is not installed") from None


def _refuse_foreign_sqlite(path: Path) -> None:
    """Look at an existing file read-only; refuse it unless it is empty or ours."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise NotOurDatabase(str(path)) from None
    # Ours means Alembic-managed; a file with other tables (or only some of ours) is not.
    if names and ALEMBIC_TABLE not in names:
        raise NotOurDatabase(str(path))


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (the documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # temp_store=MEMORY: every request of a group commit runs in a savepoint, whose journal
        # (the pages it changed, as they were) SQLite spills to a temp file past 64 KiB; on the
        # sale path that was ~4,500 pwrite calls a second into a deleted file in /var/tmp and
        # ~11 % of the writer's time per sale (docs/benchmarks.md). Temp tables and sorts stay
        # in memory too (the store's queries make small ones), and a big command in a savepoint
        # (a catalogue import) holds its changed pages' old images in memory until it ends.
        pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL", f"busy_timeout={BUSY_TIMEOUT_MS}",
                   f"wal_autocheckpoint={BACKSTOP_PAGES}", f"cache_size=-{CACHE_KIB}", "temp_store=MEMORY")  # fmt: skip
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
