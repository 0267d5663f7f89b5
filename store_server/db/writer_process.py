"""The database's one writer in a process of its own, so it has a core and a GIL to itself.

In one interpreter the event loop (websocket frames, JSON, the feed) and the database thread
take turns at one GIL: under load each waits for the other, and the store tops out at about one
core however many the machine has (docs/benchmarks.md). ``ProcessWriter`` has the same face as
``GroupWriter`` (``write``, ``run``, ``close``), but the ``GroupWriter`` it feeds runs in a child
process that opens the same database: the server's process keeps the connections, the
validation and the feed, the child does the writing (group commit, savepoints, checkpoints).

What crosses the pipe, each request and each result pickled on its own (one that cannot be
pickled or unpickled fails alone, with the reason, and never takes the others or the pipe down):

* a request: ``(grouped, fn, args)``. ``fn`` must be a module-level function (pickled by its
  name) and ``args`` picklable; an argument that is this ``Database`` travels as ``DATABASE``
  and arrives as the child's own.
* a result: the value, or the exception: pickled as itself when it comes back whole (the child
  checks), else as its class, ``args`` and attributes (a refusal keeps its fields, such as
  ``InsufficientStock.short``), else as ``WriterError`` with its class name and message.

The event loop writes to the pipe itself what the pipe takes at once, and leaves the rest to a
thread (``_Child.send``), so it never waits for a child that is starting or busy. The child
says ``ready`` once the database is open, or sends the error that stopped it (every waiting
request fails with that error, and for ``RESPAWN_BACKOFF_S`` new ones fail at once with it
instead of starting child after child).

Nothing acknowledged is lost: a request's result is sent only after the commit that made it
durable, as on the thread. If the child dies, every request waiting on it fails with
``DatabaseUnavailable`` (it may or may not have been committed: a client sends it again with
the same idempotency key and gets the first result) and the next request starts a new child.
The child ignores SIGINT and SIGTERM (a terminal's Ctrl-C and a service manager's stop reach
the whole process group): it stops when the server tells it to, after answering what it was
sent, or when the server's end of the pipe closes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import itertools
import logging
import multiprocessing
import multiprocessing.util  # its exit hook first, so that ours (closing the pipes) runs before it
import os
import pickle
import queue
import signal
import socket
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from sqlalchemy.orm import configure_mappers

from pos_core.errors import PosError
from store_server import heap
from store_server.db.cores import keep_process_off, pin_this_thread
from store_server.db.writer import Call, GroupWriter
from store_server.errors import DatabaseUnavailable, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_TIMEOUT_S = 30.0
"""How long ``close`` waits for the child to finish what it was sent before killing it."""
RESPAWN_BACKOFF_S = 5.0
"""After a child failed to open the database, how long requests fail at once with its error."""
CHILD_SWITCH_INTERVAL_S = 0.001
"""The child's GIL switch interval: its pipe reader holds the GIL only briefly."""
_STOP = b"stop"
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_OUR_PACKAGES = frozenset({"pos_core", "store_server"})
"""Packages whose modules the writer imports before it says ready (``_warm_up``)."""
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class WriterError(StoreError):
    """An error in the writer process whose details could not be sent back whole."""


class _DatabaseArg:
    """Stands for "this database" in a request's arguments (pickled by name, so it stays itself)."""

    def __reduce__(self) -> str:
        return "DATABASE"

    def __repr__(self) -> str:
        return "DATABASE"


DATABASE = _DatabaseArg()


class _Child:
    """One writer process, the server's end of its pipe, and how requests are written to it.

    The event loop writes a batch of requests to the pipe itself when the pipe takes all of it
    at once, which it nearly always does. What it cannot write without waiting (the child is
    behind and the pipe is full) goes to a thread that writes it, and everything after it too,
    until that thread has caught up: the loop never waits for the child, and messages keep their
    order. Waking a thread for every batch instead cost the loop a hand-over of the GIL each time,
    about a fifth of its time under full load (docs/benchmarks.md).
    """

    def __init__(self, url: str, log_level: int, cpu: int | None = None) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=serve_writer,
            args=(url, theirs, log_level, _our_modules(), cpu),
            name="store-db-writer",
            daemon=True,
        )
        # Ctrl-C or a stop arriving while the child boots must not kill it: it starts with both
        # signals blocked (the mask survives the spawn) and ignores them from then on.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        theirs.close()
        if cpu is not None:
            keep_process_off(cpu)  # the child pins itself (store_server.db.cores)
        self.ready = False
        self._socket = _socket_of(self.conn)
        self._lock = threading.Lock()
        self._handed = 0
        """Messages (or their rests) given to the thread and not yet written: while any are, the
        loop writes nothing itself."""
        self.outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.sender = threading.Thread(target=self._send_all, name="store-db-writer-pipe", daemon=True)
        self.sender.start()
        _open_children.add(self)

    def send(self, data: bytes) -> None:
        """Send one message (from any thread): at once if the pipe takes it whole, else by the thread."""
        with self._lock:
            if self._socket is None:
                pending = data  # not a socket (not Linux or macOS): the thread frames and writes it
            else:
                pending = _frame(data)
                if not self._handed:
                    try:
                        sent = self._socket.send(pending, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        sent = 0
                    except OSError:
                        self._hang_up()
                        return
                    if sent == len(pending):
                        return
                    pending = pending[sent:]
            self._handed += 1
            self.outgoing.put(pending)

    def _send_all(self) -> None:
        while (data := self.outgoing.get()) is not None:
            try:
                if self._socket is None:
                    self.conn.send_bytes(data)
                else:
                    self._socket.sendall(data)  # a framed message, or the rest of one
            except OSError:
                self._hang_up()
                return
            finally:
                with self._lock:
                    self._handed -= 1

    def _hang_up(self) -> None:
        """A write failed: the child is gone, or the pipe is no use any more. Closing our side for
        both directions makes sure of EOF at both ends: the child finishes and leaves, and the
        reader on the loop fails what waited (``_lost``) and the next request starts a new child."""
        if self._socket is not None:  # without one (no socket pipe) there is nothing to shut
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def stop_sending(self) -> None:
        self.outgoing.put(None)
        if self.sender is not threading.current_thread():
            self.sender.join(CLOSE_TIMEOUT_S)

    def close_pipe(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        _open_children.discard(self)


def _socket_of(conn: Connection) -> socket.socket | None:
    """A second handle on the pipe's socket, to write without waiting; None if it is no socket."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return None
    if sock.family != socket.AF_UNIX:
        sock.close()
        return None
    # Blocking, whatever socket.setdefaulttimeout says: a timeout would make this handle, and the
    # pipe's own (the same open file), non-blocking, and recv_bytes could fail mid-answer.
    sock.settimeout(None)
    return sock


def _frame(data: bytes, limit: int = 0x7FFFFFFF) -> bytes:
    """``data`` as ``Connection.send_bytes`` puts it on the wire, so ``recv_bytes`` reads it
    (a length over ``limit``, 2 GiB, in the 8-byte form)."""
    if len(data) > limit:
        return struct.pack("!i", -1) + struct.pack("!Q", len(data)) + data
    return struct.pack("!i", len(data)) + data


_open_children: weakref.WeakSet[_Child] = weakref.WeakSet()


@atexit.register
def _close_pipes() -> None:
    """At exit, close the pipes a server left open: its writers see EOF, finish and leave; one
    that does not within ``CLOSE_TIMEOUT_S`` (stuck, or still opening the database) is killed,
    so that multiprocessing's own exit hook, registered earlier and so run later, never waits
    for ever on a child that ignores SIGTERM."""
    children = list(_open_children)
    for child in children:
        child.stop_sending()
        child.close_pipe()
    for child in children:
        child.process.join(CLOSE_TIMEOUT_S)
        if child.process.is_alive():
            child.process.kill()
            child.process.join()


class ProcessWriter:
    """Sends write requests and jobs to a writer process; their results come back on the event loop.

    Args:
        url: the database's URL, password included (the child opens it itself).
        database: the server-side ``Database``; an argument that is it is sent as ``DATABASE``.
        cpu: a CPU for the writer process alone, this process's threads kept off it
            (``store_server.db.cores``); None: both run anywhere.
    """

    def __init__(self, url: str, database: object, cpu: int | None = None) -> None:
        self._url = url
        self._cpu = cpu
        self._database = database
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._outbox: list[tuple[int, bytes]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._child: _Child | None = None
        self._failed: tuple[bytes, float] | None = None
        """The error a child could not start with, and until when new requests fail with it."""
        self._closed = False
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
            process died before answering or the server is stopping, the error a new writer
            could not open the database with, or ``TypeError`` if the request cannot be pickled.
        """
        result: T = await self._send(fn, args, grouped=True)
        return result

    def queued(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._pending)

    @property
    def pid(self) -> int | None:
        """The writer process's id while it runs."""
        child = self._child
        return None if child is None else child.process.pid

    def close(self) -> None:
        """Let the writer finish what it was sent, then stop it (killed after ``CLOSE_TIMEOUT_S``).
        Requests made afterwards fail with ``DatabaseUnavailable``.

        Callable from the event loop or from another thread (``asyncio.to_thread(db.close)``):
        the answers still in flight are handed to the loop either way.
        """
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is None:
            return
        on_loop = self._on_loop()
        on_loop(self._forget_reader, child)
        on_loop(self._flush_to, child)
        child.send(_STOP)
        child.outgoing.put(None)  # the sender stops after _STOP; answers are read meanwhile
        try:
            while child.conn.poll(CLOSE_TIMEOUT_S):  # answers to what was still in flight, then EOF
                on_loop(self._take, child, child.conn.recv_bytes())
        except (EOFError, OSError):
            pass
        child.process.join(CLOSE_TIMEOUT_S)
        if child.process.is_alive():
            log.error("the database writer process did not stop in %s s; killing it", CLOSE_TIMEOUT_S)
            child.process.kill()
            child.process.join()
        child.sender.join(CLOSE_TIMEOUT_S)
        child.close_pipe()
        on_loop(self._fail_pending, DatabaseUnavailable("The store server stopped before answering the request."))

    # --- the server's side -------------------------------------------------------------

    def _send(self, fn: Callable[..., Any], args: tuple[Any, ...], *, grouped: bool) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._closed:
            future.set_exception(DatabaseUnavailable("The store server is stopping; send the request again later."))
            return future
        if self._failed is not None and time.monotonic() < self._failed[1]:
            future.set_exception(_rebuild(self._failed[0]))
            return future
        database = self._database
        sent = tuple(DATABASE if database is not None and arg is database else arg for arg in args)
        try:
            data = pickle.dumps((grouped, fn, sent), _PROTOCOL)
        except Exception as exc:
            future.set_exception(_unsendable(fn, exc))
            return future
        try:
            self._ensure_started(loop)
        except DatabaseUnavailable as exc:
            future.set_exception(exc)
            return future
        number = next(self._ids)
        self._pending[number] = future
        if not self._outbox:
            loop.call_soon(self._flush)
        self._outbox.append((number, data))
        return future

    def _ensure_started(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._closed:  # close() ran since _send looked
                raise DatabaseUnavailable("The store server is stopping; send the request again later.")
            child = self._child
            if child is not None and self._loop is not loop:
                if self._loop is not None and not self._loop.is_closed() and self._loop.is_running():
                    raise RuntimeError("The database writer process serves one event loop at a time.")
                self._loop = loop  # the old loop has ended: answers go to this one now
                loop.add_reader(child.conn.fileno(), self._on_readable, child)
            if child is None:
                self._failed = None  # the back-off is over; this child says anew whether it can start
                child = self._child = _Child(self._url, logging.getLogger().getEffectiveLevel(), self._cpu)
                self._loop = loop
                loop.add_reader(child.conn.fileno(), self._on_readable, child)
                log.info("database writer process started pid=%s", child.process.pid)

    def _flush(self) -> None:
        child = self._child
        if child is not None:
            self._flush_to(child)

    def _flush_to(self, child: _Child) -> None:
        if self._outbox:
            batch, self._outbox = self._outbox, []
            child.send(pickle.dumps(batch, _PROTOCOL))  # numbers and bytes: always loads

    def _on_readable(self, child: _Child) -> None:
        try:
            while child.conn.poll():
                self._take(child, child.conn.recv_bytes())
        except (EOFError, OSError):
            self._lost(child)

    def _take(self, child: _Child, data: bytes) -> None:
        message = pickle.loads(data)  # noqa: S301 - tuples of numbers and bytes, from our own child
        kind = message[0]
        if kind == "results":
            _, groups, results = message
            self.groups = groups
            for number, ok, payload in results:
                self._settle(number, ok, payload)
        elif kind == "ready":
            child.ready = True
            self._failed = None
        elif kind == "failed":
            self._failed = (message[1], time.monotonic() + RESPAWN_BACKOFF_S)
            error = _rebuild(message[1])
            log.error("the database writer could not start: %s", error)
            self._fail_pending(message[1])

    def _settle(self, number: int, ok: bool, payload: bytes) -> None:
        future = self._pending.pop(number, None)
        if future is None or future.done():
            return
        if not ok:
            future.set_exception(_rebuild(payload))
            return
        try:
            value = pickle.loads(payload)  # noqa: S301 - from our own child, over a private pipe
        except Exception as exc:
            future.set_exception(WriterError(f"The writer's answer could not be read back ({exc}); it was recorded."))
        else:
            future.set_result(value)

    def _lost(self, child: _Child) -> None:
        """The child went away: fail what waited on it; the next request starts a new one."""
        with self._lock:
            if self._child is not child:
                return
            self._child = None
        self._forget_reader(child)
        child.stop_sending()
        child.close_pipe()
        child.process.join(0.1)  # it closed its end: it is leaving; do not hold the loop for it
        if not child.ready:  # it never opened the database: fail fast for a while instead of respawning
            if self._failed is None or time.monotonic() >= self._failed[1]:
                why = DatabaseUnavailable(
                    f"The store's database writer could not start (exit code {child.process.exitcode}); "
                    "see the server's log."
                )
                self._failed = (_portable(why), time.monotonic() + RESPAWN_BACKOFF_S)
            self._fail_pending(self._failed[0])
            return
        log.error(
            "the database writer process stopped (exit code %s); %d requests failed",
            child.process.exitcode,
            len(self._pending),
        )
        self._fail_pending(
            DatabaseUnavailable(
                "The store's database writer stopped; the request may not have been recorded. "
                "Send it again (the same request id is safe to repeat)."
            )
        )

    def _fail_pending(self, error: BaseException | bytes) -> None:
        """Fail every request waiting (and any not sent yet) with ``error``, or with the exception
        rebuilt from its portable bytes (``_portable``), one instance each."""
        pending, self._pending = self._pending, {}
        self._outbox = []
        for future in pending.values():
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(_rebuild(error) if isinstance(error, bytes) else error)

    def _forget_reader(self, child: _Child) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # already closed
            loop.remove_reader(child.conn.fileno())

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

            try:
                loop.call_soon_threadsafe(call)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting on it any more
                return
            done.wait(CLOSE_TIMEOUT_S)

        return run_there


def _unsendable(fn: Callable[..., Any], exc: Exception) -> TypeError:
    name = getattr(fn, "__qualname__", repr(fn))
    return TypeError(
        f"A request to {name} cannot be sent to the database writer process ({exc}); "
        "use a module-level function and picklable arguments."
    )


def _portable(exc: BaseException) -> bytes:
    """An exception as bytes that rebuild it on the other side (``_rebuild``): itself, if it
    pickles and loads back; else its class, ``args`` and attributes; else a ``WriterError``."""
    if not isinstance(exc, (PosError, StoreError)):  # ours rebuild from their state; others may not
        try:
            data = pickle.dumps(exc, _PROTOCOL)
            pickle.loads(data)  # noqa: S301 - our own bytes
        except Exception:  # noqa: S110 - try the next form
            pass
        else:
            return pickle.dumps(("whole", data), _PROTOCOL)
    try:
        state = pickle.dumps((type(exc), exc.args, dict(getattr(exc, "__dict__", {}))), _PROTOCOL)
        _from_state(state)
    except Exception:  # noqa: S110 - fall back to the message
        pass
    else:
        return pickle.dumps(("state", state), _PROTOCOL)
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return pickle.dumps(("message", text), _PROTOCOL)


def _from_state(state: bytes) -> BaseException:
    cls, args, attributes = pickle.loads(state)  # noqa: S301 - from our own child, over a private pipe
    exc: BaseException = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(attributes)
    return exc


def _rebuild(data: bytes) -> BaseException:
    try:
        form, body = pickle.loads(data)  # noqa: S301 - from our own child, over a private pipe
        if form == "whole":
            rebuilt: BaseException = pickle.loads(body)  # noqa: S301 - checked by the child
            return rebuilt
        if form == "state":
            return _from_state(body)
        return WriterError(str(body))
    except Exception as failed:
        return WriterError(f"The database writer failed and its error could not be read back ({failed}).")


# --- the writer process ------------------------------------------------------------------


class _PipeSink:
    """Sends finished calls back to the server, from the child's database thread."""

    def __init__(self, conn: Connection, writer: GroupWriter) -> None:
        self.conn = conn
        self.writer = writer
        self.lock = threading.Lock()

    def deliver(self, calls: list[Call]) -> None:
        results = [_result(call) for call in calls]
        self.send(("results", self.writer.groups, results))

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, _PROTOCOL)
        with self.lock:
            try:
                self.conn.send_bytes(data)
            except OSError:  # the server is gone; nothing is waiting for this
                log.debug("dropped a message: the server closed the pipe")


def _result(call: Call) -> tuple[int, bool, bytes]:
    if call.error is None:
        try:
            return call.tag, True, pickle.dumps(call.value, _PROTOCOL)
        except Exception as exc:
            error: BaseException = WriterError(
                f"The request was recorded but its answer cannot be sent back ({exc}); "
                "sending it again returns the same answer where it has an id."
            )
    else:
        error = call.error
        if not isinstance(error, (PosError, StoreError)):
            log.error("request %s failed in the writer process", getattr(call.fn, "__qualname__", call.fn),
                      exc_info=error)  # fmt: skip
    return call.tag, False, _portable(error)


def serve_writer(
    url: str, conn: Connection, log_level: int, modules: tuple[str, ...] = (), cpu: int | None = None
) -> None:
    """The writer process: open the database, run what the server sends, until told to stop or
    until the server's end of the pipe closes; then answer what is left and leave.

    Args:
        cpu: run on this CPU only; pinned before any thread starts, so all of them are.
    """
    # Ctrl-C and a service manager's SIGTERM reach every process of the group: the server decides
    # when the writer stops (it sends _STOP after its last request, or its end of the pipe closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s [writer] %(message)s")
    sys.setswitchinterval(CHILD_SWITCH_INTERVAL_S)
    if cpu is not None:
        pin_this_thread(cpu)
    from store_server.db.engine import open_database

    try:
        _warm_up(modules)
        db = open_database(url)
        writer = db.writer
        assert isinstance(writer, GroupWriter)  # opened without a writer process of its own
    except BaseException as exc:
        with contextlib.suppress(OSError):
            conn.send_bytes(pickle.dumps(("failed", _portable(exc)), _PROTOCOL))
        conn.close()
        return
    sink = _PipeSink(conn, writer)
    heap.settle()  # what exists now lives as long as the writer
    sink.send(("ready",))
    try:
        _serve_requests(conn, db, writer, sink)
    finally:
        db.close()  # finishes what was submitted, answering it, then stops the threads
        conn.close()


def _our_modules() -> tuple[str, ...]:
    """Our modules the server has imported: the ones a job it sends may come from."""
    loaded = list(sys.modules)  # one step: another thread may import meanwhile
    return tuple(sorted(name for name in loaded if name.partition(".")[0] in _OUR_PACKAGES))


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import what the server's jobs will need and build SQLAlchemy's mappers.

    Unpickling a job imports its module and a first query builds the mappers; done here, the
    first sales do not wait on either, and what they make is there when the writer settles its
    heap (``store_server.heap``) instead of being walked by every full collection while the
    store sells.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # gone from disk since the server imported it: a job needing it fails alone
            log.warning("the writer could not import %s ahead of its jobs: %s", name, exc)
    configure_mappers()


def _serve_requests(conn: Connection, db: Any, writer: GroupWriter, sink: _PipeSink) -> None:
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            log.info("the store server closed the pipe; the writer finishes and stops")
            return
        if data == _STOP:
            return
        batch: list[tuple[int, bytes]] = pickle.loads(data)  # noqa: S301 - numbers and bytes, from our server
        for number, request in batch:
            try:
                grouped, fn, sent = pickle.loads(request)  # noqa: S301 - from our own server
            except Exception as exc:
                sink.send(("results", writer.groups, [(number, False, _portable(_unreadable(exc)))]))
                continue
            args = tuple(db if arg is DATABASE else arg for arg in sent)
            writer.submit(Call(fn, args, sink, grouped, number))


def _unreadable(exc: Exception) -> WriterError:
    return WriterError(f"The database writer could not read the request ({exc}); nothing was done.")
