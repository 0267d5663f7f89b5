"""One store server per database, and per data directory.

A second ``pos store serve`` on the same data directory (a cashier double-clicking, a service
manager starting one while another still runs) would write the same database and the same
``feed.position`` while neither wakes the other's feed consumers. The server therefore holds an
exclusive lock on ``<database>.lock`` and on ``feed.position.lock`` (the position file stays in
the data directory when ``--db`` names another database) for as long as it runs, taken before it
opens anything, and a second server stops at once with one sentence naming the first one's
process id.

The lock is the operating system's (``flock``), so it goes away with the process however the
process ends: a crashed server never leaves a stale lock behind. The file itself stays; removing
it would let a third server lock a new file while the second still held the old one.

A PostgreSQL database has no file here to lock, and two servers on two machines can reach the
same one, so there the lock is the database's own: a session-level advisory lock
(``pg_try_advisory_lock``) held by a connection the server keeps for as long as it runs
(``DatabaseLock``). PostgreSQL lets go of it when that connection ends, however the server
ends. Advisory locks belong to one database, so stores on one PostgreSQL server do not meet.
A connection lost while the server runs (PostgreSQL restarted) loses the lock with it: the
server checks every ``LOCK_CHECK_S`` and takes it again (``DatabaseLock.keep``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from store_server.db.engine import create_engine_for
from store_server.errors import DatabaseUnavailable, StoreError
from store_server.feed_position import POSITION_FILE

log = logging.getLogger(__name__)
LOCK_SUFFIX = ".lock"
SERVER_LOCK_KEY = 0x706F_735F_7365_7276
"""The advisory lock a store server holds on its PostgreSQL database (the bytes of ``pos_serv``)."""
APPLICATION = "pos store server"
"""How the lock's connection names itself (``application_name``), with its process and host."""
_TRY = text("SELECT pg_try_advisory_lock(:key)")
_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = :high AND l.objid = :low "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class Held(Protocol):
    """A lock a running server holds."""

    def release(self) -> None:
        """Let go of it; a second call does nothing."""


class AlreadyServing(StoreError):
    """Another store server holds the database, or the feed position file."""

    def __init__(self, held: Path | str, pid: int | None, host: str | None = None) -> None:
        who = f"process {pid}" if pid else "another process"
        if host:
            who += f" on {host}"
        if isinstance(held, str):  # a server database, by its URL
            what = f"is already serving {held}; stop it first, or pass another --db."
        elif held.name == POSITION_FILE:
            what = f"already keeps its feed position in {held}; stop it first, or pass another --data-dir."
        else:
            what = f"is already serving {held}; stop it first, or pass another --data-dir or --db."
        super().__init__(f"Another store server ({who}) {what}")
        self.held = held
        self.pid = pid
        self.host = host


def sqlite_file(db_url: str) -> str | None:
    """The file of a SQLite URL; None for an in-memory or a server database (or no URL at all)."""
    try:
        url = make_url(db_url)
    except ArgumentError:
        return None  # open_database explains a bad URL
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None  # a SQLite URI names its file in its own syntax
    return url.database


def is_server_database(db_url: str) -> bool:
    """Whether ``db_url`` names a PostgreSQL database (locked with ``DatabaseLock``)."""
    try:
        return make_url(db_url).get_backend_name() == "postgresql"
    except ArgumentError:
        return False  # open_database explains a bad URL


def lock_file_for(db_url: str) -> Path | None:
    """``<database>.lock`` for a SQLite file; None for an in-memory or a server database."""
    database = sqlite_file(db_url)
    return None if database is None else lock_file_of(Path(database))


def lock_files_for(db_url: str, position_file: Path | None) -> list[Path]:
    """What a server locks: its SQLite file, and its feed position file (which lives in the data
    directory even when ``--db`` names another database), each whose directory exists (without
    it there is nothing to guard, and opening the database says what is missing)."""
    wanted = [lock_file_for(db_url), None if position_file is None else lock_file_of(position_file)]
    found: list[Path] = []
    for path in wanted:
        if path is not None and path.parent.is_dir() and path not in found:
            found.append(path)
    return found


def lock_file_of(path: Path) -> Path:
    """The lock file guarding ``path``: ``<path>.lock`` beside it."""
    return path.with_name(path.name + LOCK_SUFFIX)


class ServingLock:
    """An exclusive lock on one database's lock file, held until :meth:`release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, path: Path) -> ServingLock:
        """Lock ``path`` and write this process's id into it.

        Raises:
            AlreadyServing: another process holds it.
            StoreError: the file cannot be made (its directory is missing or read-only).
        """
        held = path.with_name(path.name.removesuffix(LOCK_SUFFIX))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"Cannot make the lock file {path} ({exc.strerror}); make its directory writable."
            ) from None
        try:
            _lock(fd)
        except OSError:
            pid = _recorded_pid(fd)
            os.close(fd)
            raise AlreadyServing(held, pid) from None
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            os.close(fd)  # and with it the lock
            raise StoreError(f"Cannot write the lock file {path} ({exc.strerror}); free some disk space.") from None
        return cls(path, fd)

    def release(self) -> None:
        """Let go of the lock (closing the file lets go of it); a second call does nothing."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


class DatabaseLock:
    """The advisory lock on one PostgreSQL database, held by a connection of its own until
    :meth:`release`. The connection runs in autocommit: it holds no transaction open.

    ``keep`` runs on a worker thread while ``release`` may come from the event loop: the
    connection is only touched under ``_lock``, and ``release`` never waits for a ``keep`` in
    progress (one stuck on a dead network would freeze the loop); that ``keep`` closes what it
    holds when it sees the lock was released meanwhile.
    """

    def __init__(self, url: URL, engine: Engine, conn: Connection) -> None:
        self._url = url
        self._engine = engine
        self._conn: Connection | None = conn
        self._lock = threading.Lock()
        self._released = False

    @classmethod
    def take(cls, db_url: str) -> DatabaseLock:
        """Connect to the database at ``db_url`` and take its store server lock.

        Raises:
            AlreadyServing: another connection holds it (another store server, named by its
                process and host where PostgreSQL shows them).
            DatabaseUnavailable: the database cannot be reached.
            BadDatabaseUrl: ``db_url`` names a driver that is not installed.
        """
        url = make_url(db_url)
        engine = create_engine_for(db_url, url, poolclass=NullPool, connect_args=_connect_args())
        try:
            conn, holder = _try_lock(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise DatabaseUnavailable.unreachable(url.render_as_string(hide_password=True), exc) from None
        if conn is None:
            engine.dispose()
            raise AlreadyServing(url.render_as_string(hide_password=True), *holder_named(holder))
        return cls(url, engine, conn)

    def keep(self) -> bool:
        """Make sure the lock is still held, taking it again on a new connection if the old one
        was lost (PostgreSQL restarted, the network dropped); False if it cannot be (another server
        took it meanwhile, or the database is unreachable: the log says which), or if it was
        released."""
        with self._lock:
            if self._released:
                return False
            try:
                held = self._kept()
            finally:
                if self._released:  # released while this ran, whatever it raised: let go
                    self._let_go()
        if self._released:  # released once this was past its last look, the lock still held
            self.release()
            return False
        return held

    def _kept(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1")).close()
                return True
            except SQLAlchemyError:
                _close(self._conn)
                self._conn = None
        shown = self._url.render_as_string(hide_password=True)
        try:
            self._conn, holder = _try_lock(self._engine)
        except SQLAlchemyError as exc:
            log.error("lost the store server lock on %s; cannot take it again yet (%s)", shown, type(exc).__name__)
            return False
        if self._conn is None:
            pid, host = holder_named(holder)
            who = (f"process {pid}" if pid else "another process") + (f" on {host}" if host else "")
            log.error("lost the store server lock on %s: another store server (%s) holds it now; stop one", shown, who)
            return False
        log.warning("took the store server lock on %s again after its connection was lost", shown)
        return True

    def release(self) -> None:
        """Let go of the lock (closing its connection lets go of it); a second call does nothing.
        Never waits for a ``keep`` in progress: that one lets go when it ends."""
        self._released = True
        if not self._lock.acquire(blocking=False):
            return  # a keep holds it: it sees the release and lets go itself
        try:
            self._let_go()
        finally:
            self._lock.release()

    def _let_go(self) -> None:
        """Close the connection (and with it the lock); called holding ``_lock``."""
        if self._conn is not None:
            _close(self._conn)
            self._conn = None
        self._engine.dispose()


def _connect_args() -> dict[str, object]:
    """libpq settings for the lock's connection: its name, and no wait on a dead network
    longer than about 20 s (connecting, sending, or idle on a peer that went away)."""
    return {
        "application_name": application_name(os.getpid(), socket.gethostname()),
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 3,
        "keepalives_count": 3,
        "tcp_user_timeout": 20_000,
    }


def application_name(pid: int, host: str) -> str:
    """``APPLICATION pid@host``, the host cut to fit PostgreSQL's 63 bytes."""
    name = f"{APPLICATION} {pid}@"
    return name + host.encode()[: 63 - len(name)].decode(errors="ignore")


def _try_lock(engine: Engine) -> tuple[Connection | None, str | None]:
    """A connection holding the lock, or None and the holder's ``application_name``."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if conn.execute(_TRY, {"key": SERVER_LOCK_KEY}).scalar_one():
            return conn, None
        holder = conn.execute(_HOLDER, {"high": SERVER_LOCK_KEY >> 32, "low": SERVER_LOCK_KEY & 0xFFFF_FFFF}).scalar()
    except BaseException:
        _close(conn)
        raise
    _close(conn)
    return None, holder


def _close(conn: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):
        conn.close()


def holder_named(application: str | None) -> tuple[int | None, str | None]:
    """The process and host in a lock holder's ``application_name`` (``APPLICATION pid@host``)."""
    if not application or not application.startswith(APPLICATION + " "):
        return None, None
    pid, _, host = application.removeprefix(APPLICATION + " ").partition("@")
    return (int(pid) if pid.isdigit() else None), (host or None)


def _recorded_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode().strip())
    except (OSError, ValueError):
        return None


if sys.platform == "win32":  # pragma: no cover - the suite runs on Linux
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
