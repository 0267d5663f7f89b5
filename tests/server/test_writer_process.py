"""The database writer in a process of its own (store_server/db/writer_process.py).

Every test runs a real child process on a real SQLite file. The functions sent to it live at
module level here, as the server's do in its use cases: the child imports them by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from store_server.db import writer_process
from store_server.db.engine import Database, open_database
from store_server.db.migrate import upgrade
from store_server.db.writer import GroupWriter
from store_server.db.writer_process import ProcessWriter, WriterError
from store_server.errors import DatabaseUnavailable, InsufficientStock
from tests.server.support import make_sale, register, run, running_server

_NOTE = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, pid INTEGER NOT NULL)"


def _note(session: Session, body: str) -> tuple[int, int]:
    """Write a note; the writer's process id and the note's id."""
    session.execute(text(_NOTE))
    row = session.execute(
        text("INSERT INTO notes (body, pid) VALUES (:body, :pid) RETURNING id"), {"body": body, "pid": os.getpid()}
    ).one()
    return os.getpid(), int(row[0])


def _refuse(session: Session, sku: str) -> None:
    session.execute(text(_NOTE))
    session.execute(text("INSERT INTO notes (body, pid) VALUES ('refused', 0)"))
    raise InsufficientStock(f"Only 1 of {sku} is free.", [{"sku": sku, "requested": 3, "available": 1}])


class _Unsendable(Exception):
    def __init__(self) -> None:
        super().__init__("carries a lock")
        self.lock = threading.Lock()


def _fail_with_unsendable(session: Session) -> None:
    raise _Unsendable()


def _job(db: Database, body: str) -> tuple[bool, str]:
    """A job that opens its own transaction on the database it was handed."""
    with db.write() as session:
        _note(session, body)
    return isinstance(db, Database) and db.writer_process is False, body


def _return_a_refusal(db: Database) -> InsufficientStock:
    """A job whose answer pickles but cannot be unpickled (the class needs ``short``)."""
    return InsufficientStock("none left", [])


def _take(session: Session, anything: object) -> None:
    return None


def _tail(session: Session, blob: bytes) -> tuple[int, int]:
    """How long ``blob`` arrived, and its last byte."""
    return len(blob), blob[-1]


def _missing_file(session: Session) -> None:
    raise FileNotFoundError(2, "No such file or directory", "/no/such/file")


def _sleep_then_note(session: Session, seconds: float, started: str | None = None) -> tuple[int, int]:
    """A slow write (the request's own work takes ``seconds``); says so on the FIFO ``started`` as
    it begins."""
    import time

    if started is not None:
        Path(started).write_text("started")
    time.sleep(seconds)
    return _note(session, "slow")


def _heap_of_the_writer(session: Session) -> tuple[int, bool]:
    """How many objects the writer froze, and whether the transfers use case was imported before
    this job (neither this module nor what it imports imports it)."""
    import gc
    import sys

    return gc.get_freeze_count(), "store_server.usecases.transfers" in sys.modules


@pytest.fixture
def db(sqlite_url: str) -> Any:
    upgrade(sqlite_url)
    opened = open_database(sqlite_url, writer_process=True)
    yield opened
    opened.close()


def _notes(db: Database) -> list[tuple[str, int]]:
    with db.read() as session:
        return [(r[0], r[1]) for r in session.execute(text("SELECT body, pid FROM notes ORDER BY id"))]


def test_writes_are_made_by_another_process_and_read_back_here(db: Database) -> None:
    async def scenario() -> list[tuple[int, int]]:
        return list(await asyncio.gather(*(db.run_write(_note, f"n{i}") for i in range(40))))

    results = run(scenario())
    assert isinstance(db.writer, ProcessWriter)
    child = db.writer.pid
    assert child is not None
    assert child != os.getpid()
    assert {pid for pid, _ in results} == {child}
    assert sorted(n for _, n in results) == list(range(1, 41))
    assert len(_notes(db)) == 40
    assert 1 <= db.writer.groups < 40, "concurrent requests were meant to share commits in the child"


def test_a_refusal_comes_back_as_the_same_exception_with_its_fields_and_writes_nothing(db: Database) -> None:
    async def scenario() -> tuple[BaseException, tuple[int, int]]:
        refused, kept = await asyncio.gather(
            db.run_write(_refuse, "SKU-1"), db.run_write(_note, "kept"), return_exceptions=True
        )
        assert isinstance(refused, BaseException)
        assert isinstance(kept, tuple)
        return refused, kept

    refused, _ = run(scenario())
    assert type(refused) is InsufficientStock
    assert str(refused) == "Only 1 of SKU-1 is free."
    assert refused.short == [{"sku": "SKU-1", "requested": 3, "available": 1}]
    assert [body for body, _ in _notes(db)] == ["kept"], "the refused request's savepoint was rolled back"


def test_what_cannot_be_sent_fails_alone_with_a_reason(db: Database) -> None:
    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                db.run_write(lambda session: None),
                db.run_write(_note, "sent"),
                db.run_write(_fail_with_unsendable),
                return_exceptions=True,
            )
        )

    lam, sent, unsendable = run(scenario())
    assert isinstance(lam, TypeError)
    assert "cannot be sent to the database writer process" in str(lam)
    assert isinstance(sent, tuple)
    assert isinstance(unsendable, WriterError)
    assert "_Unsendable: carries a lock" in str(unsendable)


def test_a_job_is_handed_the_writer_process_own_database(db: Database) -> None:
    own_process, body = run(db.run(_job, db, "from a job"))
    assert own_process, "the child's database writes from its own thread, it does not start another process"
    assert body == "from a job"
    assert [b for b, _ in _notes(db)] == ["from a job"]


def test_the_writer_imports_the_servers_modules_and_settles_its_heap_before_it_is_ready(db: Database) -> None:
    import store_server.usecases.transfers  # noqa: F401 - one of the server's modules, as a running server has them

    frozen, imported = run(db.run_write(_heap_of_the_writer))
    assert imported, "a use case's module would be imported while its first request waits"
    assert frozen > 10_000, "the objects of start-up would be walked by every full collection"


def test_if_the_writer_dies_waiting_requests_fail_and_the_next_starts_a_new_one(db: Database, tmp_path: Path) -> None:
    async def scenario() -> tuple[BaseException | None, int | None, tuple[int, int]]:
        await db.run_write(_note, "before")
        writer = db.writer
        assert isinstance(writer, ProcessWriter)
        first = writer.pid
        assert first is not None
        started = tmp_path / "started"
        os.mkfifo(started)
        slow = asyncio.ensure_future(db.run_write(_sleep_then_note, 5.0, str(started)))
        assert await asyncio.to_thread(started.read_text) == "started"  # the child is running it
        os.kill(first, signal.SIGKILL)
        try:
            await asyncio.wait_for(slow, 10)
            error = None
        except DatabaseUnavailable as exc:
            error = exc
        after = await db.run_write(_note, "after")
        return error, first, after

    error, first, (pid, _) = run(scenario())
    assert isinstance(error, DatabaseUnavailable)
    assert "Send it again" in str(error)
    assert pid != first, "a new writer process took over"
    assert [b for b, _ in _notes(db)] == ["before", "after"]


def test_close_answers_what_was_in_flight_then_stops_the_child(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    db = open_database(sqlite_url, writer_process=True)

    async def scenario() -> list[Any]:
        pending = [asyncio.ensure_future(db.run_write(_sleep_then_note, 0.2)) for _ in range(3)]
        await asyncio.sleep(0)  # one turn of the loop: the three are sent
        await asyncio.to_thread(db.close)  # as the server stops
        return list(await asyncio.gather(*pending, return_exceptions=True))

    writer = db.writer
    assert isinstance(writer, ProcessWriter)
    results = run(scenario())
    assert all(isinstance(r, tuple) for r in results), results
    assert writer.pid is None


def test_an_in_memory_database_keeps_its_writer_on_a_thread() -> None:
    db = open_database("sqlite://", writer_process=True)
    try:
        assert db.writer_process is False
        assert isinstance(db.writer, GroupWriter)
    finally:
        db.close()


def test_a_server_with_a_writer_process_takes_sales_over_the_socket(sqlite_url: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int | None]:
        async with running_server(sqlite_url, writer_process=True) as (server, tokens):
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                sale = make_sale([("SKU-0001", 2)], cashier_id=cashier)
                first = await reg.submit(sale)
                again = await reg.submit(sale)
            writer = server.database.writer
            assert isinstance(writer, ProcessWriter)
            return first, again, writer.pid

    first, again, pid = run(scenario())
    assert pid is not None
    assert pid != os.getpid()
    assert first["type"] == "sale.accepted"
    assert first["duplicate"] is False
    assert again["type"] == "sale.accepted"
    assert again["duplicate"] is True
    assert again["seq"] == first["seq"]


def test_an_answer_or_a_request_that_cannot_be_rebuilt_fails_alone(db: Database) -> None:
    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                db.run(_return_a_refusal, db),
                db.run_write(_take, InsufficientStock("none left", [])),  # pickles, but not back
                db.run_write(_note, "fine"),
                return_exceptions=True,
            )
        )

    answer, request, fine = run(scenario())
    assert isinstance(answer, WriterError)
    assert "could not be read back" in str(answer)
    assert isinstance(request, WriterError)
    assert str(request).startswith("The database writer could not read the request")
    assert str(request).endswith("nothing was done.")
    assert isinstance(fine, tuple)
    assert [b for b, _ in _notes(db)] == ["fine"]


def test_other_errors_keep_their_type_and_fields(db: Database) -> None:
    async def scenario() -> BaseException:
        try:
            await db.run_write(_missing_file)
        except FileNotFoundError as exc:
            return exc
        raise AssertionError("the error was meant to come back")

    error = run(scenario())
    assert isinstance(error, FileNotFoundError)
    assert (error.errno, error.strerror, error.filename) == (2, "No such file or directory", "/no/such/file")


def test_a_writer_that_cannot_open_the_database_says_why_and_is_not_restarted_at_once(tmp_path: Path) -> None:
    writer = ProcessWriter(f"sqlite:///{tmp_path / 'gone' / 'store.db'}", None)

    async def scenario() -> tuple[object, object, int | None, int | None]:
        first = await asyncio.gather(writer.write(_note, "x"), return_exceptions=True)
        failed = writer.pid  # the writer that failed, if it has not finished leaving yet
        second = await asyncio.gather(writer.write(_note, "y"), return_exceptions=True)
        return first[0], second[0], failed, writer.pid

    try:
        first, second, failed, pid = run(scenario())
    finally:
        writer.close()
    assert isinstance(first, DatabaseUnavailable)
    assert "its directory does not exist" in str(first)
    assert isinstance(second, DatabaseUnavailable)
    assert str(second) == str(first)
    assert pid in {None, failed}, "within the back-off no new writer was started"


def test_after_close_requests_are_refused_and_no_writer_is_started(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    db = open_database(sqlite_url, writer_process=True)
    run(db.run_write(_note, "before"))
    db.close()

    async def scenario() -> BaseException:
        try:
            await db.run_write(_note, "after")
        except DatabaseUnavailable as exc:
            return exc
        raise AssertionError("a closed database must refuse writes")

    error = run(scenario())
    assert "stopping" in str(error)
    writer = db.writer
    assert isinstance(writer, ProcessWriter)
    assert writer.pid is None


def test_a_writer_signalled_while_it_starts_carries_on(sqlite_url: str) -> None:
    """Ctrl-C or a stop reaching the process group while the writer boots must not kill it."""
    upgrade(sqlite_url)
    writer = ProcessWriter(sqlite_url, None)

    async def scenario() -> tuple[int, int]:
        task = asyncio.ensure_future(writer.write(_note, "signalled"))
        await asyncio.sleep(0)  # the request is sent and the child spawned, still booting
        pid = writer.pid
        assert pid is not None
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        return await task

    try:
        pid, _ = run(scenario())
    finally:
        writer.close()
    assert pid > 0


def test_the_back_off_starts_again_after_each_failed_start(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that dies before it is ready (killed while it boots) fails its requests and holds
    off new writers for a while, every time: never one spawn per request."""
    upgrade(sqlite_url)
    clock = [1000.0]  # the writer's monotonic clock, moved by the test, not by waiting
    monkeypatch.setattr(writer_process, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    started: list[int] = []
    real = writer_process._Child

    class KilledAtBirth(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            started.append(self.process.pid)
            os.kill(self.process.pid, signal.SIGKILL)

    monkeypatch.setattr(writer_process, "_Child", KilledAtBirth)
    writer = ProcessWriter(sqlite_url, None)

    async def attempt() -> object:
        return (await asyncio.gather(writer.write(_note, "x"), return_exceptions=True))[0]

    async def scenario() -> list[object]:
        failures = [await attempt()]
        clock[0] += writer_process.RESPAWN_BACKOFF_S - 0.001
        failures.append(await attempt())  # still within the back-off: no writer is started
        clock[0] += 0.002  # the back-off is over: one more writer is tried
        failures.append(await attempt())
        failures.append(await attempt())  # within the new back-off: no writer is started
        return failures

    try:
        failures = run(scenario())
    finally:
        writer.close()
    assert all(isinstance(f, DatabaseUnavailable) for f in failures), failures
    assert "could not start (exit code -9)" in str(failures[0])
    assert len(started) == 2, started


@contextlib.contextmanager
def _writer_stopped(db: Database, rescue_after_s: float) -> Iterator[None]:
    """The writer process stopped (SIGSTOP) for the block. Should the block's loop hang on the
    full pipe, a timer lets the writer go on after ``rescue_after_s``, and the test fails
    instead of hanging."""
    writer = db.writer
    assert isinstance(writer, ProcessWriter)
    pid = writer.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    rescue = threading.Timer(rescue_after_s, os.kill, (pid, signal.SIGCONT))
    rescue.start()
    try:
        yield
    finally:
        rescue.cancel()
        os.kill(pid, signal.SIGCONT)


def test_requests_bigger_than_the_pipe_arrive_whole_in_order_while_the_loop_never_waits(db: Database) -> None:
    """The loop writes what the pipe takes at once and hands the rest to a thread. With the writer
    stopped (SIGSTOP) the pipe fills: the loop must go on running, and once the writer goes on,
    every request arrives whole and in order."""

    async def scenario() -> tuple[list[tuple[int, int]], float, bytes]:
        await db.run_write(_note, "before")
        with _writer_stopped(db, rescue_after_s=5.0):
            blobs = [os.urandom(400_000) + bytes([n]) for n in range(20)]  # 8 MB: far more than a pipe holds
            loop = asyncio.get_running_loop()
            began = loop.time()
            futures = [asyncio.ensure_future(db.run_write(_tail, blob)) for blob in blobs]
            small = asyncio.ensure_future(db.run_write(_note, "after"))
            for _ in range(20):  # the loop keeps turning while the writer reads nothing
                await asyncio.sleep(0.01)
            turned = loop.time() - began
            assert not any(f.done() for f in futures)
        results = await asyncio.wait_for(asyncio.gather(*futures), 30)
        await asyncio.wait_for(small, 30)
        return results, turned, b"".join(blob[-1:] for blob in blobs)

    results, turned, tails = run(scenario())
    assert turned < 2.0  # 20 turns of 10 ms; a loop blocked on the full pipe would hang here
    assert results == [(400_001, tail) for tail in tails]
    assert [b for b, _ in _notes(db)] == ["before", "after"]


def test_a_frame_is_what_recv_bytes_reads_in_both_of_its_forms() -> None:
    ours, theirs = multiprocessing.Pipe()
    try:
        for data, limit in [(b"small", 0x7FFFFFFF), (b"as if over 2 GB", 4), (b"", 0x7FFFFFFF)]:
            os.write(ours.fileno(), writer_process._frame(data, limit))
            assert theirs.recv_bytes() == data
    finally:
        ours.close()
        theirs.close()


def test_a_default_socket_timeout_neither_drops_requests_nor_cuts_answers(db: Database) -> None:
    """``socket.setdefaulttimeout`` (some library may set it) must not make the pipe time out:
    many batches queued behind one the pipe could not take, with the writer stopped for longer
    than the timeout, all arrive once it goes on."""
    socket.setdefaulttimeout(0.2)

    async def scenario() -> list[tuple[int, int]]:
        try:
            await db.run_write(_note, "before")  # starts the writer under the default timeout
        finally:
            socket.setdefaulttimeout(None)
        with _writer_stopped(db, rescue_after_s=10.0):
            futures = []
            for n in range(30):  # one batch each: later batches queue behind the first the pipe refused
                futures.append(asyncio.ensure_future(db.run_write(_tail, os.urandom(300_000) + bytes([n]))))
                await asyncio.sleep(0)
            await asyncio.sleep(1.0)  # five times the timeout, the writer stopped
        return list(await asyncio.wait_for(asyncio.gather(*futures), 30))

    assert run(scenario()) == [(300_001, n) for n in range(30)]


class _BrokenPipeSocket:
    """The pipe's socket, except that writing to it fails while the child lives on."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real

    def send(self, data: bytes, flags: int) -> int:
        raise BlockingIOError  # the loop hands the message to the thread

    def sendall(self, data: bytes) -> None:
        raise OSError(5, "Input/output error")

    def shutdown(self, how: int) -> None:
        self.real.shutdown(how)

    def close(self) -> None:
        self.real.close()


def test_a_write_that_fails_with_the_writer_alive_fails_its_request_and_the_next_starts_a_new_writer(
    db: Database,
) -> None:
    async def scenario() -> tuple[int, BaseException | None, tuple[int, int]]:
        first, _ = await db.run_write(_note, "before")
        writer = db.writer
        assert isinstance(writer, ProcessWriter)
        child = writer._child
        assert child is not None
        assert child._socket is not None
        child._socket = _BrokenPipeSocket(child._socket)  # type: ignore[assignment]
        try:
            await asyncio.wait_for(db.run_write(_note, "lost"), 20)
            error = None
        except DatabaseUnavailable as exc:
            error = exc
        return first, error, await db.run_write(_note, "after")

    first, error, (second, _) = run(scenario())
    assert isinstance(error, DatabaseUnavailable)
    assert second != first
    assert [b for b, _ in _notes(db)] == ["before", "after"]
