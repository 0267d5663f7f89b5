"""One store server per PostgreSQL database: the database's own advisory lock, held by a
connection the server keeps (``store_server.serving_lock.DatabaseLock``)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading

import psycopg
import pytest
from sqlalchemy.engine import Connection, Engine

from store_server import serving_lock
from store_server.errors import BadDatabaseUrl, DatabaseUnavailable, StoreError, StoreNotInitialised
from store_server.server import StoreServer
from store_server.serving_lock import (
    APPLICATION,
    AlreadyServing,
    DatabaseLock,
    application_name,
    holder_named,
    is_server_database,
)
from tests.pg import eventually, libpq_dsn, session_database
from tests.server.feed_support import catalogue, feed_server, prepare, sale_of
from tests.server.support import SEED, held_by_a_child, register, run

PRODUCTS = catalogue(SEED)


def _lock_backends(url: str) -> list[int]:
    """The backends of this database whose connection is a store server's lock."""
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE %s",
            (APPLICATION + " %",),
        ).fetchall()
    return [pid for (pid,) in rows]


def _terminate(url: str, pids: list[int]) -> None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _me() -> str:
    pid, host = holder_named(application_name(os.getpid(), socket.gethostname()))
    return f"process {pid} on {host}"


@pytest.mark.postgres
def test_a_second_server_on_the_same_postgresql_database_is_refused_and_the_first_goes_on(pg_url: str) -> None:
    async def scenario() -> None:
        async with feed_server(pg_url) as (first, tokens):
            second = StoreServer(pg_url)
            with pytest.raises(AlreadyServing) as refused:
                await second.start()
            assert str(refused.value) == (
                f"Another store server ({_me()}) is already serving {pg_url}; stop it first, or pass another --db."
            )
            with pytest.raises(StoreError, match="started already"):
                await first.start()
            async with register(first, tokens.register) as reg:  # the first one still sells
                cashier = await reg.login()
                reply = await reg.submit(sale_of(PRODUCTS, [("SKU-0001", 1)], cashier))
                assert reply["type"] == "sale.accepted", reply
        await asyncio.to_thread(eventually, lambda: _lock_backends(pg_url) == [])  # stopping let go of it
        again = StoreServer(pg_url)
        await again.start()
        await again.stop()

    run(scenario())


@pytest.mark.postgres
def test_a_server_that_fails_to_start_on_postgresql_lets_go_of_the_lock(pg_url: str) -> None:
    async def scenario() -> None:
        for _ in range(2):  # the second attempt gets the same error, not "already serving"
            with pytest.raises(StoreNotInitialised):
                await StoreServer(pg_url).start()  # an empty database: no store in it

    run(scenario())
    eventually(lambda: _lock_backends(pg_url) == [])
    DatabaseLock.take(pg_url).release()


@pytest.mark.postgres
def test_stores_on_one_postgresql_server_each_have_their_own_lock(pg_url: str) -> None:
    other_database = session_database()
    other = next(other_database)
    one = DatabaseLock.take(pg_url)
    try:
        two = DatabaseLock.take(other)
        try:
            with pytest.raises(AlreadyServing):
                DatabaseLock.take(other)
        finally:
            two.release()
        two.release()  # a second release does nothing
        DatabaseLock.take(other).release()
    finally:
        one.release()
        other_database.close()  # drops it


@pytest.mark.postgres
def test_the_database_lock_dies_with_its_process_however_it_ends(pg_url: str) -> None:
    take = "from store_server.serving_lock import DatabaseLock\nDatabaseLock.take(sys.argv[1])"
    with held_by_a_child(take, pg_url) as holder:
        with pytest.raises(AlreadyServing) as refused:
            DatabaseLock.take(pg_url)
        assert refused.value.pid == holder.pid
        assert refused.value.host == socket.gethostname()
    eventually(lambda: _lock_backends(pg_url) == [])  # PostgreSQL saw the connection end
    DatabaseLock.take(pg_url).release()  # no stale lock after a crash


@pytest.mark.postgres
def test_a_lost_connection_takes_the_lock_again_unless_another_server_took_it(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    lock = DatabaseLock.take(pg_url)
    try:
        assert lock.keep()  # held: nothing to do
        [first] = _lock_backends(pg_url)
        _terminate(pg_url, [first])  # PostgreSQL restarted, say
        assert lock.keep()
        [second] = _lock_backends(pg_url)
        assert second != first
        with pytest.raises(AlreadyServing):
            DatabaseLock.take(pg_url)  # it is held again

        _terminate(pg_url, [second])
        eventually(lambda: _lock_backends(pg_url) == [])
        usurper = DatabaseLock.take(pg_url)  # another server started while it was free
        with caplog.at_level(logging.ERROR, logger="store_server.serving_lock"):
            assert not lock.keep()
        assert f"another store server ({_me()}) holds it now" in caplog.text
        usurper.release()
        assert lock.keep()
    finally:
        lock.release()


@pytest.mark.postgres
def test_a_running_server_takes_its_lost_lock_again(pg_url: str) -> None:
    async def scenario() -> None:
        await asyncio.to_thread(prepare, pg_url, SEED)
        server = StoreServer(pg_url, lock_check_s=0.1)
        await server.start()
        try:
            [before] = await asyncio.to_thread(_lock_backends, pg_url)
            await asyncio.to_thread(_terminate, pg_url, [before])
            await asyncio.to_thread(eventually, lambda: _lock_backends(pg_url) not in ([], [before]))
            with pytest.raises(AlreadyServing):
                await StoreServer(pg_url).start()
        finally:
            await server.stop()

    run(scenario())


@pytest.mark.postgres
def test_a_release_during_a_keep_does_not_wait_for_it_and_the_keep_lets_go(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``release`` (the server stopping, on the event loop) never waits for a ``keep`` in
    progress on its thread, which may be stuck on a dead network; that keep lets go itself."""
    lock = DatabaseLock.take(pg_url)
    _terminate(pg_url, _lock_backends(pg_url))
    taking, go_on = threading.Event(), threading.Event()
    try_lock = serving_lock._try_lock

    def slow_try_lock(engine: Engine) -> tuple[Connection | None, str | None]:
        taking.set()
        go_on.wait(10)
        return try_lock(engine)

    monkeypatch.setattr(serving_lock, "_try_lock", slow_try_lock)
    kept: list[bool] = []
    keeping = threading.Thread(target=lambda: kept.append(lock.keep()))
    keeping.start()
    try:
        assert taking.wait(10)
        lock.release()  # returns at once, the keep still connecting
        assert keeping.is_alive()
    finally:
        go_on.set()
        keeping.join(10)
    assert kept == [False]
    eventually(lambda: _lock_backends(pg_url) == [])
    DatabaseLock.take(pg_url).release()
    assert not lock.keep()  # released: it takes nothing again


class _ReleasedOnTheWayOut:
    """A lock for ``DatabaseLock._lock`` that lets ``DatabaseLock.release`` (from another
    thread, as the event loop would) run just before it is let go: after the keep's last look,
    while it still holds the lock."""

    def __init__(self, owner: DatabaseLock) -> None:
        self._lock = threading.Lock()
        self._owner = owner

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        releasing = threading.Thread(target=self._owner.release)
        releasing.start()
        releasing.join(10)
        self._lock.release()

    def acquire(self, blocking: bool = True) -> bool:
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()


@pytest.mark.postgres
def test_a_release_while_a_keep_still_holds_its_lock_is_never_lost(pg_url: str) -> None:
    lock = DatabaseLock.take(pg_url)
    lock._lock = _ReleasedOnTheWayOut(lock)  # type: ignore[assignment]
    assert not lock.keep()  # released: not held, though the connection was fine
    eventually(lambda: _lock_backends(pg_url) == [])
    DatabaseLock.take(pg_url).release()


@pytest.mark.postgres
def test_a_keep_that_fails_after_a_release_still_lets_go(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = DatabaseLock.take(pg_url)

    def released_then_failed(self: DatabaseLock) -> bool:
        releasing = threading.Thread(target=self.release)  # the event loop, stopping the server
        releasing.start()
        releasing.join(10)
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(DatabaseLock, "_kept", released_then_failed)
    with pytest.raises(RuntimeError):
        lock.keep()
    eventually(lambda: _lock_backends(pg_url) == [])
    DatabaseLock.take(pg_url).release()


@pytest.mark.postgres
def test_a_start_cancelled_while_it_takes_the_lock_lets_go_of_it(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    taking, go_on, taken = threading.Event(), threading.Event(), threading.Event()
    take = DatabaseLock.take

    def slow_take(db_url: str) -> DatabaseLock:  # connecting to a slow database, on its thread
        taking.set()
        go_on.wait(10)
        try:
            return take(db_url)
        finally:
            taken.set()

    monkeypatch.setattr(DatabaseLock, "take", slow_take)

    async def scenario() -> None:
        await asyncio.to_thread(prepare, pg_url, SEED)
        starting = asyncio.create_task(StoreServer(pg_url).start())
        assert await asyncio.to_thread(taking.wait, 10)
        starting.cancel()  # Ctrl-C, or a service manager giving up, while the lock is being taken
        with pytest.raises(asyncio.CancelledError):
            await starting
        go_on.set()  # the take goes on on its thread and takes the lock
        assert await asyncio.to_thread(taken.wait, 10)
        await asyncio.to_thread(eventually, lambda: _lock_backends(pg_url) == [])

    run(scenario())
    DatabaseLock.take(pg_url).release()


def test_a_driver_that_is_not_installed_is_one_sentence() -> None:
    url = "postgresql+nosuchdriver://postgres@127.0.0.1/store"
    with pytest.raises(BadDatabaseUrl, match="SQLAlchemy knows no database 'postgresql\\+nosuchdriver'"):
        DatabaseLock.take(url)

    async def scenario() -> None:
        with pytest.raises(BadDatabaseUrl):
            await StoreServer(url).start()

    run(scenario())


def test_a_long_host_name_is_cut_to_fit_postgresql() -> None:
    name = application_name(4_194_304, "h" * 80)
    assert len(name.encode()) == 63
    assert holder_named(name) == (4_194_304, "h" * (63 - len(f"{APPLICATION} 4194304@")))
    assert holder_named("psql") == (None, None)


def test_an_unreachable_postgresql_is_one_sentence() -> None:
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:1/store"
    with pytest.raises(DatabaseUnavailable) as failed:
        DatabaseLock.take(url)
    assert str(failed.value) == (
        "Cannot reach the database postgresql+psycopg://postgres:***@127.0.0.1:1/store (OperationalError); check --db."
    )


def test_only_a_postgresql_url_is_locked_in_the_database() -> None:
    assert is_server_database("postgresql+psycopg://postgres@127.0.0.1/test")
    assert not is_server_database("sqlite:///store.db")
    assert not is_server_database("not a url")


def test_a_database_or_user_the_server_does_not_have_is_named() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1/pos_no_such_db"
    with pytest.raises(DatabaseUnavailable) as no_db:
        DatabaseLock.take(url)
    assert str(no_db.value) == (
        f"The database server of {url} has no database pos_no_such_db; create it (e.g. `createdb pos_no_such_db`)"
        " or check --db."
    )
    with pytest.raises(DatabaseUnavailable) as no_user:
        DatabaseLock.take("postgresql+psycopg://pos_no_such_user@127.0.0.1/postgres")
    assert "has no user pos_no_such_user; check the user in --db." in str(no_user.value)
    # This machine's PostgreSQL trusts every login: a refused password is PostgreSQL's own words.
    said = 'connection failed: FATAL:  password authentication failed for user "kim"'
    refused = DatabaseUnavailable.unreachable("postgresql+psycopg://kim:***@db/shop", RuntimeError(said))
    assert str(refused) == (
        "The database server of postgresql+psycopg://kim:***@db/shop refused the password of kim;"
        " check the password in --db."
    )
