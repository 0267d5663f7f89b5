"""One store server per SQLite database: a second one stops before it opens or writes anything."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from store_server.errors import StoreError, StoreNotInitialised
from store_server.feed_position import POSITION_FILE
from store_server.server import StoreServer
from store_server.serving_lock import AlreadyServing, ServingLock, lock_file_for, lock_files_for
from tests.server.feed_support import catalogue, feed_server, sale_of
from tests.server.support import SEED, held_by_a_child, prepare_store, register, run

PRODUCTS = catalogue(SEED)


def test_a_second_server_on_the_same_database_is_refused_and_the_first_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"

    async def scenario() -> None:
        async with feed_server(url) as (first, tokens):
            position = tmp_path / POSITION_FILE
            before = position.read_bytes(), position.stat().st_mtime_ns
            second = StoreServer(url)
            with pytest.raises(AlreadyServing) as refused:
                await second.start()
            assert f"process {os.getpid()}" in str(refused.value)
            assert str(path) in str(refused.value)
            assert (position.read_bytes(), position.stat().st_mtime_ns) == before  # nothing written
            async with register(first, tokens.register) as reg:  # the first one still sells
                cashier = await reg.login()
                reply = await reg.submit(sale_of(PRODUCTS, [("SKU-0001", 1)], cashier))
                assert reply["type"] == "sale.accepted", reply
        # Once the first has stopped, the database can be served again.
        again = StoreServer(url)
        await again.start()
        await again.stop()

    run(scenario())


def test_a_server_that_fails_to_start_lets_go_of_the_database(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"")  # a database with no store in it

    async def scenario() -> None:
        for _ in range(2):  # the second attempt gets the same error, not "already serving"
            with pytest.raises(StoreNotInitialised):
                await StoreServer(f"sqlite:///{path}").start()

    run(scenario())
    ServingLock.take(Path(f"{path}.lock")).release()


def test_the_lock_dies_with_its_process_however_it_ends(tmp_path: Path) -> None:
    lock = tmp_path / "store.db.lock"
    take = "from pathlib import Path\nfrom store_server.serving_lock import ServingLock\n"
    take += "ServingLock.take(Path(sys.argv[1]))"
    with held_by_a_child(take, str(lock)) as holder:
        with pytest.raises(AlreadyServing) as refused:
            ServingLock.take(lock)
        assert f"process {holder.pid}" in str(refused.value)
    taken = ServingLock.take(lock)  # no stale lock after a crash
    taken.release()
    taken.release()  # a second release does nothing


def test_only_a_sqlite_file_has_a_lock_file(tmp_path: Path) -> None:
    assert lock_file_for(f"sqlite:///{tmp_path}/store.db") == tmp_path / "store.db.lock"
    assert lock_file_for("sqlite://") is None
    assert lock_file_for("sqlite:///:memory:") is None
    assert lock_file_for("postgresql+psycopg://postgres@127.0.0.1/test") is None
    assert lock_file_for("not a url") is None


def test_a_lock_file_that_cannot_be_made_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "store.db.lock").mkdir()  # a directory where the file should be
    with pytest.raises(StoreError) as failed:
        ServingLock.take(tmp_path / "store.db.lock")
    assert "Cannot make the lock file" in str(failed.value)


def test_two_servers_keeping_their_feed_position_in_one_file_are_refused(tmp_path: Path) -> None:
    """``--db`` can name another database while the position file stays in the data directory."""
    one, other = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    position = tmp_path / POSITION_FILE

    async def scenario() -> None:
        await asyncio.to_thread(prepare_store, other)
        async with feed_server(one) as (first, _):
            before = position.read_bytes(), position.stat().st_mtime_ns
            second = StoreServer(other, position_file=position)
            with pytest.raises(AlreadyServing) as refused:
                await second.start()
            assert str(refused.value) == (
                f"Another store server (process {os.getpid()}) already keeps its feed position in {position}; "
                "stop it first, or pass another --data-dir."
            )
            assert (position.read_bytes(), position.stat().st_mtime_ns) == before
            with pytest.raises(StoreError, match="started already"):
                await first.start()
        again = StoreServer(other, position_file=position)  # free once the first has stopped
        await again.start()
        await again.stop()

    run(scenario())


def test_what_a_server_locks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    assert lock_files_for(url, tmp_path / POSITION_FILE) == [
        tmp_path / "store.db.lock",
        tmp_path / "feed.position.lock",
    ]
    assert lock_files_for(url, None) == [tmp_path / "store.db.lock"]
    assert lock_files_for("postgresql+psycopg://postgres@127.0.0.1/test", tmp_path / POSITION_FILE) == [
        tmp_path / "feed.position.lock"
    ]
    assert lock_files_for(f"sqlite:///{tmp_path}/missing/store.db", None) == []  # opening says what is missing


def test_a_stopped_server_serves_again_under_a_new_event_loop(tmp_path: Path) -> None:
    # pos store serve runs one asyncio.run; an embedding (the desktop's own store, a test) may
    # start the same StoreServer again under another. Its feed-position task must not be tied
    # to the first loop: it waited on an Event bound to it and failed the second stop().
    url = f"sqlite:///{tmp_path / 'store.db'}"
    prepare_store(url)
    server = StoreServer(url)

    async def serve_once() -> None:
        await server.start()
        await asyncio.sleep(0)  # a turn of the loop: the position task starts waiting
        server.notify_committed()
        await server.stop()  # records the mark itself

    run(serve_once())
    run(serve_once())
    assert (tmp_path / POSITION_FILE).exists()
