"""The one database thread, and group commit on it.

Every write of the store server runs on one thread, so SQLite has a single writer and the
event loop never blocks on the disk. Two kinds of work go to it, in the order they arrive:

* a **write request** (``GroupWriter.write``): ``fn(session, *args)`` inside a transaction it
  shares with every other write request that is waiting at that moment. Each request runs
  inside its own SAVEPOINT, so one that raises rolls back only its own writes (and its feed
  events never take a seq); the transaction is committed once, with one fsync for the lot,
  and only then is any request's result handed back. Nothing acknowledged is ever lost: a
  caller hears of its success only after the commit that made it durable, and if that
  commit fails every request in it fails, having written nothing. One failure a savepoint
  cannot hold, an ORM flush that fails (SQLAlchemy then rolls back the whole transaction),
  fails that request alone; the others of its group, not yet answered, run again in a new one.
  A write request whose function was marked with ``runs_together`` runs, with the other
  requests of its group for that function, as one call of the function it was marked with,
  inside one savepoint, where the first of them stood in the group: the requests of a group
  all wait for the same commit and none is answered before it, so any order is one they could
  have arrived in. If that call raises, its savepoint is rolled back and they run one by one.
* a **job** (``GroupWriter.run``): ``fn(*args)`` on its own, for anything that manages its own
  transactions (reads that must not race a write on an in-memory database, setup, timers).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from store_server.db.savepoint import TransactionLost, savepoint

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_GROUP = 256
"""Write requests committed together at most; more wait for the next commit."""
F = TypeVar("F", bound=Callable[..., Any])
Together = Callable[[Session, list[tuple[Any, ...]]], list[Any]]
"""Runs many requests' ``args`` in one call: a result or the exception refusing it, for each."""
TOGETHER = "pos_runs_together"
"""The attribute ``runs_together`` sets on a function: the function its requests run together with."""


def runs_together(many: Together) -> Callable[[F], F]:
    """Mark a write request function ``fn(session, *args)`` whose requests of one group commit
    run as one ``many(session, [args, ...])``.

    ``many`` returns each request's result, or the exception that refused it (an exception it
    returns must have written nothing); an exception it raises rolls back all it wrote, and
    the requests then run one by one.
    """

    def mark(fn: F) -> F:
        setattr(fn, TOGETHER, many)
        return fn

    return mark


class Sink(Protocol):
    """Where finished calls are handed back (an event loop's futures, or a pipe to the server)."""

    def deliver(self, calls: list[Call]) -> None:
        """Take the outcome of ``calls`` (each has ``value`` or ``error``); called on the database
        thread, once for all the calls of this sink that finished together."""


@dataclass(slots=True)
class Call:
    """One piece of work and where its outcome goes."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    sink: Sink
    grouped: bool
    tag: Any = None
    """The submitter's own handle on the call (its future, or its request number)."""
    value: Any = None
    error: BaseException | None = field(default=None)


class _LoopSink:
    """Resolves futures on one event loop: one wake-up of the loop per delivery."""

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def deliver(self, calls: list[Call]) -> None:
        try:
            self.loop.call_soon_threadsafe(_resolve, calls)
        except RuntimeError:  # the loop closed while we worked: nobody is waiting
            log.debug("dropped %d results for a closed event loop", len(calls))


class GroupWriter:
    """A thread that runs jobs one at a time and commits write requests in groups.

    Args:
        begin: opens a write transaction (``Database.write``): the session is committed
            when the block ends without an exception, rolled back otherwise.
        name: the thread's name.
    """

    def __init__(self, begin: Callable[[], AbstractContextManager[Session]], name: str = "store-db") -> None:
        self._begin = begin
        self._queue: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._sinks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSink] = weakref.WeakKeyDictionary()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self.groups = 0
        """Group commits made so far (for tests and benchmarks)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` alone on the database thread and await its result."""
        return await self._submit(fn, args, grouped=False)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` as one write request of the next group commit.

        Returns:
            ``fn``'s result, once the commit that made its writes durable has succeeded.

        Raises:
            Whatever ``fn`` raised (its writes are rolled back, the group's are not), or the
            commit's error (nothing of the group was written).
        """
        return await self._submit(fn, args, grouped=True)

    def queued(self) -> int:
        """Requests waiting for the database thread (approximate while it runs; for tests)."""
        return self._queue.qsize()

    def close(self) -> None:
        """Finish what was submitted, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def submit(self, call: Call) -> None:
        """Queue ``call``; its outcome goes to ``call.sink`` (from any thread)."""
        self._queue.put(call)

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], *, grouped: bool) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        sink = self._sinks.get(loop)
        if sink is None:
            sink = self._sinks[loop] = _LoopSink(loop)
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Call(fn, args, sink, grouped, future))
        return future

    def _serve(self) -> None:
        held: list[Call | None] = []  # taken from the queue while grouping, not yet run
        while True:
            call = held.pop() if held else self._queue.get()
            if call is None:
                return
            if not call.grouped:
                self._run_alone(call)
                continue
            group = [call]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None or not nxt.grouped:
                    held.append(nxt)  # runs after this group, in arrival order
                    break
                group.append(nxt)
            self._commit(group)

    def _run_alone(self, call: Call) -> None:
        try:
            call.value = call.fn(*call.args)
        except BaseException as exc:  # handed to the awaiting caller, like run_in_executor
            call.error = exc
        _deliver([call])

    def _commit(self, group: list[Call], *, together: bool = True) -> None:
        culprit: Call | None = None
        lost_together = False
        try:
            with self._begin() as session:
                if len(group) == 1:
                    # Alone, the transaction is the request's savepoint: an error rolls it all back.
                    call = group[0]
                    call.value = call.fn(session, *call.args)
                else:
                    for unit in _units(group) if together else [[call] for call in group]:
                        if len(unit) > 1:
                            try:
                                if _ran_together(session, unit):
                                    continue
                            except TransactionLost:
                                lost_together = True
                                raise
                        for call in unit:
                            try:
                                _run_in_savepoint(session, call)
                            except TransactionLost as lost:
                                culprit, call.error = call, lost.__cause__ or lost
                                raise
        except BaseException as exc:  # the commit (or the lone request) failed: nothing was written
            if lost_together:  # which request took the transaction down is not known: one by one
                for call in group:
                    call.value, call.error = None, None
                self._commit(group, together=False)
                return
            if culprit is not None:
                self._retry_without(group, culprit)
                return
            for call in group:
                if call.error is None:
                    call.error = exc
        self.groups += 1
        _deliver(group)

    def _retry_without(self, group: list[Call], culprit: Call) -> None:
        """One request's failure took the whole transaction down (``TransactionLost``): it fails
        alone, and the others, none of which was written or answered, run again in a new group."""
        log.warning("a request's failed write rolled back its group; running the other %d again", len(group) - 1)
        _deliver([culprit])
        others = [call for call in group if call is not culprit]
        for call in others:
            call.value, call.error = None, None
        if others:
            self._commit(others)


def _units(group: list[Call]) -> list[list[Call]]:
    """The group in the order it runs: the requests of a ``runs_together`` function as one unit
    where the first of them stood, every other request a unit of its own."""
    units: list[list[Call]] = []
    by_fn: dict[Callable[..., Any], list[Call]] = {}
    for call in group:
        if getattr(call.fn, TOGETHER, None) is None:
            units.append([call])
        elif call.fn in by_fn:
            by_fn[call.fn].append(call)
        else:
            by_fn[call.fn] = [call]
            units.append(by_fn[call.fn])
    return units


def _ran_together(session: Session, unit: list[Call]) -> bool:
    """Run the requests of ``unit`` as one call (``runs_together``) in a savepoint; False if it
    raised (it wrote nothing then, and the caller runs them one by one).

    Raises:
        TransactionLost: the call's failure rolled back the whole transaction.
    """
    many: Together = getattr(unit[0].fn, TOGETHER)
    try:
        with savepoint(session):
            outcomes = many(session, [call.args for call in unit])
            if len(outcomes) != len(unit):
                raise RuntimeError(f"{many.__qualname__} answered {len(outcomes)} of {len(unit)} requests")
    except TransactionLost:
        raise
    except Exception:
        log.exception("%d requests run together failed; running them one by one", len(unit))
        return False
    for call, outcome in zip(unit, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            call.error = outcome
        else:
            call.value = outcome
    return True


def _run_in_savepoint(session: Session, call: Call) -> None:
    """Run one request of a group inside its own savepoint (``savepoint``).

    Raises:
        TransactionLost: the request's failure rolled back the whole transaction.
    """
    try:
        with savepoint(session):
            call.value = call.fn(session, *call.args)
    except TransactionLost:
        raise
    except Exception as exc:
        call.error = exc


def _deliver(calls: list[Call]) -> None:
    """Hand each outcome to its caller's sink, one delivery per sink."""
    by_sink: dict[int, tuple[Sink, list[Call]]] = {}
    for call in calls:
        by_sink.setdefault(id(call.sink), (call.sink, []))[1].append(call)
    for sink, done in by_sink.values():
        try:
            sink.deliver(done)
        except Exception:  # a sink that cannot take its results must not stop the database thread
            log.exception("could not hand back %d results", len(done))


def _resolve(calls: list[Call]) -> None:
    for call in calls:
        future: asyncio.Future[Any] = call.tag
        if future.cancelled():
            continue
        if call.error is not None:
            future.set_exception(call.error)
        else:
            future.set_result(call.value)
