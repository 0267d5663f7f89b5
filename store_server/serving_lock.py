"""One store server per SQLite database, and per data directory.

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
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store_server.errors import StoreError
from store_server.feed_position import POSITION_FILE

LOCK_SUFFIX = ".lock"


class AlreadyServing(StoreError):
    """Another store server holds the database, or the feed position file."""

    def __init__(self, held: Path, pid: int | None) -> None:
        who = f"process {pid}" if pid else "another process"
        if held.name == POSITION_FILE:
            what = f"already keeps its feed position in {held}; stop it first, or pass another --data-dir."
        else:
            what = f"is already serving {held}; stop it first, or pass another --data-dir or --db."
        super().__init__(f"Another store server ({who}) {what}")
        self.held = held
        self.pid = pid


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
