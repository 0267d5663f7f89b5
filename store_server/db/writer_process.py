"""The database's one writer in a process of its own, so it has a core and a GIL to itself.

In one interpreter the event loop (websocket frames, JSON, the feed) and the database thread
take turns at one GIL: under load each waits for the other, and the store tops out at about one
core however many the machine has (docs/benchmarks.md). ``ProcessWriter`` has the same face as
``GroupWriter`` (``write``, ``run``, ``close``), but the ``GroupWriter`` it feeds runs in a child
process that opens the same database: the server's process keeps the connections, the
validation and the feed, the child does the writing (group commit, savepoints, checkpoints).

What crosses the pipe, pickled:

* a request ``(number, grouped, fn, args)``. ``fn`` must be a module-level function (pickled by
  its name) and ``args`` picklable; an argument that is this ``Database`` travels as ``DATABASE``
  and arrives as the child's own. Something that cannot be sent fails that request alone, with
  the reason.
* a result ``(number, ok, value)``, or for an exception its class, ``args`` and attributes, so a
  refusal arrives as the same exception with the same fields (``InsufficientStock.short``).
  One whose state cannot be sent arrives as ``WriterError`` with its class name and message.

Nothing acknowledged is lost: a request's result is sent only after the commit that made it
durable, as on the thread. If the child dies, every request waiting on it fails with
``DatabaseUnavailable`` (it may or may not have been committed: a client sends it again with
the same idempotency key and gets the first result) and the next request starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from pos_core.errors import PosError
from store_server.db.writer import Call, GroupWriter
from store_server.errors import DatabaseUnavailable, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_TIMEOUT_S = 30.0
"""How long ``close`` waits for the child to finish what it was sent before killing it."""
CHILD_SWITCH_INTERVAL_S = 0.001
"""The child's GIL switch interval: its pipe reader holds the GIL only briefly."""
_STOP = b"stop"


class WriterError(StoreError):
    """An error in the writer process whose details could not be sent back whole."""


class _DatabaseArg:
    """Stands for "this database" in a request's arguments (pickled by name, so it stays itself)."""

    def __reduce__(self) -> str:
        return "DATABASE"

    def __repr__(self) -> str:
        return "DATABASE"


DATABASE = _DatabaseArg()


class ProcessWriter:
    """Sends write requests and jobs to a writer process; their results come back on the event loop.

    Args:
        url: the database's URL, password included (the child opens it itself).
        database: the server-side ``Database``; an argument that is it is sent as ``DATABASE``.
    """

    def __init__(self, url: str, database: object) -> None:
        self._url = url
        self._database = database
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._outbox: list[tuple[int, bool, Callable[..., Any], tuple[Any, ...]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._lock = threading.Lock()
        self.groups = 0
        """Group commits the writer process has made (as of its last reply; for tests and benchmarks)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` alone on the writer's database thread and await its result."""
        result: T = await self._send(fn, args, grouped=False)
        return result

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` as one write request of the writer's next group commit.

        Returns:
            ``fn``'s result, once the commit that made its writes durable has succeeded.

        Raises:
            Whatever ``fn`` raised, the commit's error, ``DatabaseUnavailable`` if the writer
            process died before answering, or ``TypeError`` if the request cannot be pickled.
        """
        result: T = await self._send(fn, args, grouped=True)
        return result

    def queued(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._pending)

    @property
    def pid(self) -> int | None:
        """The writer process's id while it runs."""
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        """Let the writer finish what it was sent, then stop it (killed after ``CLOSE_TIMEOUT_S``).

        Callable from the event loop or from another thread (``asyncio.to_thread(db.close)``):
        the answers still in flight are handed to the loop either way.
        """
        with self._lock:
            conn, process = self._conn, self._process
            self._conn, self._process = None, None
        if conn is None or process is None:
            return
        on_loop = self._on_loop()
        on_loop(self._forget_reader, conn)
        try:
            on_loop(self._flush_to, conn)
            conn.send_bytes(_STOP)
            while conn.poll(CLOSE_TIMEOUT_S):  # answers to what was still in flight, then EOF
                on_loop(self._take, conn.recv())
        except (EOFError, OSError):
            pass
        process.join(CLOSE_TIMEOUT_S)
        if process.is_alive():
            log.error("the database writer process did not stop in %s s; killing it", CLOSE_TIMEOUT_S)
            process.kill()
            process.join()
        conn.close()
        on_loop(self._fail_pending, "The store server is stopping; the request was not answered.")

    def _on_loop(self) -> Callable[..., None]:
        """A way to run a function on the event loop's thread now, from whichever thread calls close."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return lambda fn, *args: fn(*args)
        try:
            if asyncio.get_running_loop() is loop:
                return lambda fn, *args: fn(*args)
        except RuntimeError:
            pass

        def run_there(fn: Callable[..., Any], *args: Any) -> None:
            done = threading.Event()

            def call() -> None:
                try:
                    fn(*args)
                finally:
                    done.set()

            loop.call_soon_threadsafe(call)
            done.wait(CLOSE_TIMEOUT_S)

        return run_there

    # --- the server's side -------------------------------------------------------------

    def _send(self, fn: Callable[..., Any], args: tuple[Any, ...], *, grouped: bool) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        self._ensure_started(loop)
        future: asyncio.Future[Any] = loop.create_future()
        number = next(self._ids)
        self._pending[number] = future
        sent = tuple(DATABASE if arg is self._database else arg for arg in args)
        if not self._outbox:
            loop.call_soon(self._flush)
        self._outbox.append((number, grouped, fn, sent))
        return future

    def _ensure_started(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._conn is not None and self._loop is not loop:
                if self._loop is not None and not self._loop.is_closed() and self._loop.is_running():
                    raise RuntimeError("The database writer process serves one event loop at a time.")
                self._loop = loop  # the old loop has ended: answers go to this one now
                loop.add_reader(self._conn.fileno(), self._on_readable, self._conn)
            if self._conn is None:
                context = multiprocessing.get_context("spawn")  # never fork a process with threads
                ours, theirs = context.Pipe()
                level = logging.getLogger().getEffectiveLevel()
                process = context.Process(
                    target=serve_writer, args=(self._url, theirs, level), name="store-db-writer", daemon=True
                )
                process.start()
                theirs.close()
                self._conn, self._process, self._loop = ours, process, loop
                loop.add_reader(ours.fileno(), self._on_readable, ours)
                log.info("database writer process started pid=%s", process.pid)

    def _flush(self) -> None:
        conn = self._conn
        if conn is None or not self._outbox:
            return
        try:
            self._flush_to(conn)
        except OSError:
            self._lost(conn)

    def _flush_to(self, conn: Connection) -> None:
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            data = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        except Exception:  # find which cannot be sent; they fail alone
            good = []
            for request in batch:
                try:
                    pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
                except Exception as exc:
                    self._settle(request[0], False, _unsendable(request[2], exc))
                else:
                    good.append(request)
            if not good:
                return
            data = pickle.dumps(good, pickle.HIGHEST_PROTOCOL)
        conn.send_bytes(data)

    def _on_readable(self, conn: Connection) -> None:
        try:
            while conn.poll():
                self._take(conn.recv())
        except (EOFError, OSError):
            self._lost(conn)

    def _take(self, message: tuple[int, list[tuple[int, bool, Any]]]) -> None:
        groups, results = message
        self.groups = groups
        for number, ok, value in results:
            self._settle(number, ok, value if ok else _rebuild(value))

    def _settle(self, number: int, ok: bool, value: Any) -> None:
        future = self._pending.pop(number, None)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _lost(self, conn: Connection) -> None:
        """The child went away: fail what waited on it; the next request starts a new one."""
        with self._lock:
            if self._conn is not conn:
                return
            process = self._process
            self._conn, self._process = None, None
        self._forget_reader(conn)
        conn.close()
        code = None
        if process is not None:
            process.join(1.0)
            code = process.exitcode
        log.error("the database writer process stopped (exit code %s); %d requests failed", code, len(self._pending))
        self._outbox = []
        self._fail_pending(
            "The store's database writer stopped; the request may not have been recorded. "
            "Send it again (the same request id is safe to repeat)."
        )

    def _fail_pending(self, message: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(DatabaseUnavailable(message))

    def _forget_reader(self, conn: Connection) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # already closed
            loop.remove_reader(conn.fileno())


def _unsendable(fn: Callable[..., Any], exc: Exception) -> TypeError:
    name = getattr(fn, "__qualname__", repr(fn))
    return TypeError(f"{name} cannot be sent to the database writer process ({exc}); use a module-level function.")


def _portable(exc: BaseException) -> bytes:
    """An exception as bytes that rebuild it on the other side (see ``_rebuild``)."""
    try:
        return pickle.dumps((type(exc), exc.args, dict(getattr(exc, "__dict__", {}))), pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps((WriterError, (f"{type(exc).__name__}: {exc}",), {}), pickle.HIGHEST_PROTOCOL)


def _rebuild(data: bytes) -> BaseException:
    try:
        cls, args, state = pickle.loads(data)  # noqa: S301 - from our own child, over a private pipe
        exc: BaseException = cls.__new__(cls)
        exc.args = args
        exc.__dict__.update(state)
    except Exception as failed:
        return WriterError(f"The database writer failed and its error could not be read back ({failed}).")
    return exc


# --- the writer process ------------------------------------------------------------------


class _PipeSink:
    """Sends finished calls back to the server, from the child's database thread."""

    def __init__(self, conn: Connection, writer: GroupWriter) -> None:
        self.conn = conn
        self.writer = writer
        self.lock = threading.Lock()

    def deliver(self, calls: list[Call]) -> None:
        results = []
        for call in calls:
            if call.error is None:
                results.append((call.tag, True, call.value))
            else:
                if not isinstance(call.error, (PosError, StoreError)):
                    log.error("request %s failed in the writer process", call.fn, exc_info=call.error)
                results.append((call.tag, False, _portable(call.error)))
        try:
            data = pickle.dumps((self.writer.groups, results), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a result that cannot be sent: each is sent alone, the bad ones as errors
            data = pickle.dumps((self.writer.groups, [_alone(r, exc) for r in results]), pickle.HIGHEST_PROTOCOL)
        with self.lock:
            try:
                self.conn.send_bytes(data)
            except OSError:  # the server is gone; nothing is waiting for this
                log.debug("dropped %d results: the server closed the pipe", len(results))


def _alone(result: tuple[int, bool, Any], exc: Exception) -> tuple[int, bool, Any]:
    try:
        pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return (result[0], False, _portable(WriterError(f"The result could not be sent back ({exc}).")))
    return result


def serve_writer(url: str, conn: Connection, log_level: int) -> None:
    """The writer process: open the database, run what the server sends, until told to stop."""
    from store_server.db.engine import open_database

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s [writer] %(message)s")
    # Ctrl-C reaches every process of the terminal's group: the server decides when the writer
    # stops (it sends _STOP after its last request), so the writer does not stop on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setswitchinterval(CHILD_SWITCH_INTERVAL_S)
    db = open_database(url)
    writer = db.writer
    assert isinstance(writer, GroupWriter)  # opened without a writer process of its own
    sink = _PipeSink(conn, writer)
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                log.warning("the store server went away; the writer stops")
                break
            if data == _STOP:
                break
            batch = pickle.loads(data)  # noqa: S301 - from our own server, over a private pipe
            for number, grouped, fn, sent in batch:
                args = tuple(db if arg is DATABASE else arg for arg in sent)
                writer.submit(Call(fn, args, sink, grouped, number))
    finally:
        db.close()  # finishes what was submitted, answering it, then stops the threads
        conn.close()
