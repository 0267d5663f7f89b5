"""The store server: websocket endpoints for registers, the storefront feed and the storefront's commands.

Every connection authenticates in the HTTP upgrade with ``Authorization: Bearer``;
refusals are plain HTTP answers with one sentence and no websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import sys
import weakref
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from pathlib import Path

from sqlalchemy import inspect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.protocol import State

from pos_core.protocol import MAX_MESSAGE_BYTES, REGISTER_PATH, STOREFRONT_PATH
from store_server.access import KIND_FOR_PATH, Access, refusal
from store_server.db.engine import Database, open_database
from store_server.errors import PortInUse, StoreError, StoreNotInitialised
from store_server.expiry_timer import DEFAULT_INTERVAL_S, ExpiryTimer
from store_server.feed_endpoint import FeedSettings, FeedSignal, serve_feed
from store_server.feed_position import FeedMark, is_restored, position_file_for, read_mark, write_mark
from store_server.pipe_pickling import pickle_by_fields  # noqa: F401 - registers the pipe's fast pickling
from store_server.register_endpoint import RegisterSession, serve_register
from store_server.serving_lock import DatabaseLock, Held, ServingLock, is_server_database, lock_files_for, sqlite_file
from store_server.storefront_endpoint import serve_storefront
from store_server.usecases.cashiers import inactive_among
from store_server.usecases.clock import utc_now
from store_server.usecases.credentials import credential_scopes, revoked_among, verify_token
from store_server.usecases.feed import feed_position, rotate_epoch
from store_server.usecases.store import StoreInfo, load_store

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0
CREDENTIAL_CHECK_S = 30.0
"""How often open connections' credentials are checked again; a revoked one is closed within this."""
LOCK_CHECK_S = 10.0
"""Seconds between checks that a PostgreSQL database's lock is still held (``DatabaseLock.keep``)."""
REVOKED_CLOSE_CODE = 1008
DEACTIVATED_CLOSE_CODE = 1008
"""Closes a register connection whose logged-in cashier was deactivated (``DEACTIVATED_REASON``)."""
DEACTIVATED_REASON = "cashier deactivated"
POSITION_INTERVAL_S = 2.0
"""How often, while events are committed, the feed's high-water mark is written outside the database."""
SWITCH_INTERVAL_S = 0.0001
"""How long a thread may hold the GIL while another wants it (Python's default is 5 ms)."""
WRITE_LIMIT = 64 * 1024
"""Bytes buffered per connection before a send waits; a storefront that stops reading
holds up only its own coroutine, and at most this much memory."""


def _release_if_taken(taking: asyncio.Future[DatabaseLock]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        taking.result().release()


class StoreServer:
    """One store's server process.

    Args:
        db_url: the store database (made with ``init_store``).
        heartbeat_s: how often an idle or blocked feed consumer gets a heartbeat.
        feed: the feed's per-consumer limits (unacknowledged cap, snapshot threshold).
        expiry_interval_s: seconds between sweeps of expired reservations.
        clock: the time reservations expire by; a test passes one it controls.
        position_file: where the feed's high-water mark is kept (``store_server.feed_position``);
            None: ``feed.position`` next to a SQLite file, and none for other databases.
        position_interval_s: seconds between looks at the log's last seq: the mark is written
            when it moved, and feed consumers are woken for what a back-office command
            (``pos stock``, ``pos orders``) committed from another process.
        credential_check_s: seconds between checks that open connections' credentials are still
            live; a connection whose credential was revoked (``pos store revoke``) is closed.
        lock_check_s: seconds between checks that the lock on a PostgreSQL database is still held,
            taken again if its connection was lost (``store_server.serving_lock``).
        writer_process: write the database from a process of its own
            (``store_server.db.writer_process``) instead of a thread of this one.
        writer_cpu: with ``writer_process``, a CPU for the writer alone, this process's threads
            kept off it (``store_server.db.cores``); None: both run anywhere.
    """

    def __init__(
        self,
        db_url: str,
        *,
        heartbeat_s: float = 5.0,
        feed: FeedSettings | None = None,
        expiry_interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], datetime] = utc_now,
        position_file: Path | None = None,
        position_interval_s: float = POSITION_INTERVAL_S,
        credential_check_s: float = CREDENTIAL_CHECK_S,
        lock_check_s: float = LOCK_CHECK_S,
        writer_process: bool = False,
        writer_cpu: int | None = None,
    ) -> None:
        self._db_url = db_url
        self._writer_process = writer_process
        self._writer_cpu = writer_cpu
        self._heartbeat_s = heartbeat_s
        self._feed = feed if feed is not None else FeedSettings()
        self._expiry_interval_s = expiry_interval_s
        self._clock = clock
        self._expiry: ExpiryTimer | None = None
        self._access: weakref.WeakKeyDictionary[ServerConnection, Access] = weakref.WeakKeyDictionary()
        self._registers: dict[ServerConnection, RegisterSession] = {}
        self._db: Database | None = None
        self._store: StoreInfo | None = None
        self._server: Server | None = None
        self._signal: FeedSignal | None = None
        self._port = 0
        self._position_file = position_file
        self._position_interval_s = position_interval_s
        self._position_task: asyncio.Task[None] | None = None
        self._mark: FeedMark | None = None
        """The log's position last looked at (and recorded, where there is a position file)."""
        self._mark_unwritten = False
        """The last write of the position file failed: it is tried again at the next look."""
        self._credential_check_s = credential_check_s
        self._credential_task: asyncio.Task[None] | None = None
        self._locks: list[Held] = []
        self._lock_check_s = lock_check_s
        self._lock_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def store(self) -> StoreInfo:
        if self._store is None:
            raise StoreError("The store server has not started; call start() first.")
        return self._store

    @property
    def database(self) -> Database:
        if self._db is None:
            raise StoreError("The store server has not started; call start() first.")
        return self._db

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Open the database and listen; returns the bound port.

        Raises:
            AlreadyServing: another store server is serving the same database (a SQLite file or a
                PostgreSQL database), or keeps its feed position in the same file
                (store_server.serving_lock).
            DatabaseUnavailable: a PostgreSQL database cannot be reached.
            NotOurDatabase, StoreNotInitialised: the database is not a ready store.
            PortInUse: something else listens on ``host``:``port``.
        """
        if self._locks:
            raise StoreError("The store server has started already; stop() it first.")
        database = sqlite_file(self._db_url)
        position = self._position_file or (None if database is None else position_file_for(database))
        try:
            for path in lock_files_for(self._db_url, position):  # before anything is opened or written
                self._locks.append(ServingLock.take(path))  # never waits: taken or refused at once
            if is_server_database(self._db_url):
                await self._take_database_lock()
            return await self._start(host, port)
        except BaseException:
            self._release_locks()
            raise

    async def _take_database_lock(self) -> None:
        """Take the PostgreSQL database's lock (on a thread: it connects), and keep it."""
        taking = asyncio.ensure_future(asyncio.to_thread(DatabaseLock.take, self._db_url))
        try:
            lock = await asyncio.shield(taking)
        except asyncio.CancelledError:  # the thread goes on: let go of what it takes
            taking.add_done_callback(_release_if_taken)
            raise
        self._locks.append(lock)
        self._lock_task = asyncio.create_task(self._keep_database_lock(lock), name="database-lock")

    async def _keep_database_lock(self, lock: DatabaseLock) -> None:
        """Every ``lock_check_s``, make sure the lock is held (a lost connection took it along)."""
        while True:
            await asyncio.sleep(self._lock_check_s)
            try:
                await asyncio.to_thread(lock.keep)
            except Exception:
                log.exception("checking the database lock failed; next try in %s s", self._lock_check_s)

    def _release_locks(self) -> None:
        if self._lock_task is not None:
            self._lock_task.cancel()  # a keep() in progress ends on its thread and lets go itself
            self._lock_task = None
        while self._locks:
            self._locks.pop().release()

    async def _start(self, host: str, port: int) -> int:
        # The database thread lets go of the GIL at every statement and must win it back each
        # time: with Python's default 5 ms switch interval it waited up to 5 ms behind the event
        # loop for each of a sale's statements; at 0.1 ms it waits little (docs/benchmarks.md).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        opening = functools.partial(
            open_database, self._db_url, writer_process=self._writer_process, writer_cpu=self._writer_cpu
        )
        db = await asyncio.to_thread(opening)
        try:
            self._store = await db.run(_load_store, db)
            if self._position_file is None and db.is_sqlite:
                self._position_file = position_file_for(db.url.database)
            if self._position_file is not None:
                await self._check_position(db, self._store.id, self._position_file)
            self._signal = FeedSignal()
            self._server = await serve(
                self._handle,
                host,
                port,
                process_request=self._authorise,
                max_size=MAX_MESSAGE_BYTES,
                write_limit=WRITE_LIMIT,
                # A storefront that stopped reading must not hold up a shutdown for long.
                close_timeout=CLOSE_TIMEOUT_S,
            )
        except OSError as exc:
            await asyncio.to_thread(db.close)
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise StoreError(
                f"Cannot listen on {host}:{port} ({exc.strerror}); pass another --host or --port."
            ) from None
        except BaseException:
            await asyncio.to_thread(db.close)
            raise
        self._db = db
        self._expiry = ExpiryTimer(db, self.notify_committed, self._clock, interval_s=self._expiry_interval_s)
        self._expiry.start()
        self._position_task = asyncio.create_task(self._follow_log(), name="feed-position")
        self._credential_task = asyncio.create_task(self._check_credentials(), name="credential-check")
        self._port = next(iter(self._server.sockets)).getsockname()[1]
        log.info("store server listening host=%s port=%s store=%s", host, self._port, self._store.id)
        return self._port

    async def serve_forever(self) -> None:
        """Serve until cancelled or stopped."""
        if self._server is None:
            raise StoreError("The store server has not started; call start() first.")
        await self._server.wait_closed()

    async def stop(self) -> None:
        """Close every connection and the database."""
        if self._expiry is not None:
            await self._expiry.stop()
            self._expiry = None
        if self._credential_task is not None:
            self._credential_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._credential_task
            self._credential_task = None
        if self._signal is not None:
            self._signal.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._position_task is not None:
            self._position_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await self._position_task
                except Exception:  # it logs what it meets; whatever ended it must not stop the shutdown
                    log.exception("the feed position task had failed")
            self._position_task = None
        try:
            if self._db is not None:
                if self._position_file is not None:
                    try:
                        await self._record_position()  # a write that fails is logged there
                    except Exception:  # the database failing now must not keep it open
                        log.exception("could not record the feed's position at shutdown")
                await asyncio.to_thread(self._db.close)
                self._db = None
        finally:
            self._release_locks()
        log.info("store server stopped")

    async def expire_due_now(self) -> int:
        """Sweep expired reservations at once instead of at the next tick; how many expired."""
        if self._expiry is None:
            raise StoreError("The store server has not started; call start() first.")
        return await self._expiry.sweep()

    def notify_committed(self) -> None:
        """Wake feed consumers: new events are in the log."""
        if self._signal is not None:
            self._signal.notify()

    async def _check_credentials(self) -> None:
        """Every ``credential_check_s``, close the open connections whose credential was revoked,
        and the registers whose cashier was deactivated."""
        while True:
            await asyncio.sleep(self._credential_check_s)
            for check in (self.close_revoked, self.close_deactivated):
                try:
                    await check()
                except Exception:  # a database hiccup must not end the checks
                    log.exception("checking credentials failed; trying again in %s s", self._credential_check_s)

    async def close_deactivated(self) -> int:
        """Close the register connections whose logged-in cashier is deactivated now; how many.

        A manager deactivates a cashier with ``pos store cashier deactivate``, from another
        process. The register reconnects by itself, its cashier's login is refused and it goes
        back to the login screen (docs/register.md). A connection answering a request is closed
        right after its reply, so a sale in flight gets its answer; one whose answer was lost
        anyway is taken from the next cashier under the same id (``wrong_cashier`` spares a
        deactivated cashier's sales).
        """
        logged_in = {s.cashier.id for c, s in list(self._registers.items()) if c.state is State.OPEN and s.cashier}
        if not logged_in or self._db is None:
            return 0
        gone = await self._db.run_reader(_inactive_among, self._db, logged_in)
        now = []
        closed = 0
        for connection, session in list(self._registers.items()):  # who is logged in now, after the read
            if session.cashier is None or session.cashier.id not in gone or connection.state is not State.OPEN:
                continue
            log.warning("closing peer=%s: cashier %s was deactivated", connection.remote_address, session.cashier.id)
            closed += 1
            if session.busy:
                session.closing = DEACTIVATED_REASON  # serve_register closes after this reply
            else:
                now.append(connection)
        await asyncio.gather(
            *(c.close(DEACTIVATED_CLOSE_CODE, DEACTIVATED_REASON) for c in now), return_exceptions=True
        )
        return closed

    async def close_revoked(self) -> int:
        """Close the open connections whose credential is revoked now; how many were closed."""
        open_now = [(c, a) for c, a in list(self._access.items()) if c.state is State.OPEN]
        if not open_now or self._db is None:
            return 0
        revoked = await self._db.run(_revoked_among, self._db, {a.credential_id for _, a in open_now})
        doomed = [c for c, a in open_now if a.credential_id in revoked]
        for connection, access in open_now:
            if access.credential_id in revoked:
                log.warning("closing peer=%s: credential %s (%s) was revoked", connection.remote_address,
                            access.credential_id, access.name)  # fmt: skip
        await asyncio.gather(
            *(c.close(REVOKED_CLOSE_CODE, "credential revoked") for c in doomed), return_exceptions=True
        )
        return len(doomed)

    async def _check_position(self, db: Database, store_id: str, path: Path) -> None:
        """Rotate the epoch when the database is behind the recorded mark (a restored backup)."""
        epoch, last_seq = await db.run(_read_position, db)
        current = FeedMark(store_id, epoch, last_seq)
        recorded = await asyncio.to_thread(read_mark, path)
        if is_restored(recorded, current):
            assert recorded is not None
            new = await db.run(_rotate_epoch, db)
            log.warning(
                "THE DATABASE WENT BACK IN TIME: the feed reached seq %s in epoch %s (%s) but the database "
                "is at seq %s, so a backup was restored; the feed now has a new epoch %s and every "
                "storefront will get a snapshot",
                recorded.last_seq,
                recorded.epoch,
                path,
                last_seq,
                new,
            )
            current = FeedMark(store_id, new, last_seq)
        await asyncio.to_thread(write_mark, path, current)
        self._mark = current

    async def _record_position(self) -> bool:
        """Look at the log's position and write the mark where it moved (or where the last write
        failed); whether the position moved. A mark that cannot be written is logged once, and
        tried again at every look until it is written."""
        if self._db is None or self._store is None:
            return False
        epoch, last_seq = await self._db.run(_read_position, self._db)
        mark = FeedMark(self._store.id, epoch, last_seq)
        moved = mark != self._mark
        self._mark = mark
        if self._position_file is not None and (moved or self._mark_unwritten):
            try:
                await asyncio.to_thread(write_mark, self._position_file, mark)
            except StoreError as exc:
                if not self._mark_unwritten:
                    log.error("%s; trying again every %s s", exc, self._position_interval_s)
                self._mark_unwritten = True
            else:
                if self._mark_unwritten:
                    log.warning("the feed position file %s is written again", self._position_file)
                self._mark_unwritten = False
        return moved

    async def _follow_log(self) -> None:
        """Every ``position_interval_s``, the log's position: the mark follows every commit, the
        server's own and a back-office command's from another process (``pos stock``, ``pos
        orders``), whose events feed consumers are then woken for. Nothing it meets ends it."""
        failing = False
        while True:
            await asyncio.sleep(self._position_interval_s)
            try:
                moved = await self._record_position()
            except Exception:  # a database hiccup must not end the looks; said once, not every tick
                if not failing:
                    log.exception(
                        "could not read the feed's position; trying again every %s s", self._position_interval_s
                    )
                failing = True
                continue
            if failing:
                log.warning("reading the feed's position again")
            failing = False
            if moved and self._signal is not None:
                self._signal.notify()

    async def _authorise(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path not in KIND_FOR_PATH:
            return _refuse(
                connection, HTTPStatus.NOT_FOUND, f"There is nothing at {path}; use /register, /feed or /storefront."
            )
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refuse(
                connection,
                HTTPStatus.UNAUTHORIZED,
                "Send an Authorization: Bearer token; make one with `pos store token`.",
            )
        access = await self.database.run(_credential_access, self.database, token.strip())
        if access is None:
            return _refuse(
                connection, HTTPStatus.UNAUTHORIZED, "That token is unknown or revoked; ask the manager for a new one."
            )
        refused = refusal(path, access)
        if refused is not None:
            return _refuse(connection, *refused)
        if path == REGISTER_PATH:
            # A register sits on the shop's LAN and sends small frames: compressing them costs
            # both ends CPU for nothing (~7 % of the store's sales a second under full load,
            # docs/benchmarks.md). The storefront's feed and commands, which cross the internet
            # and carry whole snapshots, keep permessage-deflate when the client offers it.
            connection.protocol.available_extensions = []
        self._access[connection] = access
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path.split("?", 1)[0] if connection.request else ""
        db, signal = self.database, self._signal
        assert signal is not None  # set by start() before serving
        if path == REGISTER_PATH:
            await serve_register(connection, db, self.notify_committed, sessions=self._registers)
        elif path == STOREFRONT_PATH:
            await serve_storefront(connection, db, self._access[connection], self.notify_committed, self._clock)
        else:
            await serve_feed(connection, db, signal, self._heartbeat_s, self._feed)


def _refuse(connection: ServerConnection, status: HTTPStatus, sentence: str) -> Response:
    log.info("refused peer=%s status=%s", connection.remote_address, status.value)
    return connection.respond(status, sentence + "\n")


def _load_store(db: Database) -> StoreInfo:
    if not inspect(db.engine).has_table("store"):
        raise StoreNotInitialised(db.describe())
    with db.read() as session:
        try:
            return load_store(session)
        except StoreNotInitialised:
            raise StoreNotInitialised(db.describe()) from None


def _read_position(db: Database) -> tuple[str, int]:
    with db.read() as session:
        return feed_position(session)


def _inactive_among(db: Database, ids: set[str]) -> set[str]:
    with db.read() as session:
        return inactive_among(session, ids)


def _revoked_among(db: Database, ids: set[str]) -> set[str]:
    with db.read() as session:
        return revoked_among(session, ids)


def _rotate_epoch(db: Database) -> str:
    with db.write() as session:
        return rotate_epoch(session)


def _credential_access(db: Database, token: str) -> Access | None:
    with db.read() as session:
        found = verify_token(session, token)
        if found is None:
            return None
        return Access(found.id, found.kind, found.name, credential_scopes(found))
