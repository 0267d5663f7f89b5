"""The ``/storefront`` endpoint: decode a command, check its scope, run its use case, encode the reply.

A storefront may send its next command before the last reply came (pipelining), up to
``MAX_IN_FLIGHT`` at once on one connection: the server starts them in the order received,
its writer commits their changes in that order, and the replies go out in that order. A read
(``stock.query``, ``order.get``) sent before an earlier command's reply may not see that
command's change yet. Changes run on the database's writer thread, reads on the readers'
thread. After a command that wrote events, feed consumers are woken so the change streams
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pos_core.protocol import INTERNAL, ProtocolError, decode, encode, error_reply
from store_server.access import Access, peer_of
from store_server.db.engine import Database
from store_server.db.loop_reads import ReadBusy
from store_server.errors import InsufficientStock, RequestRefused
from store_server.storefront_protocol import (
    ORDER_CANCEL,
    ORDER_COLLECT,
    ORDER_PLACE,
    ORDER_UPDATE,
    RESERVATION_COMMIT,
    RESERVATION_RELEASE,
    RESERVATION_RESERVE,
    Command,
    OrderQuery,
    ScopeRefused,
    StockQuery,
    levels_reply,
    order_reply,
    read_command,
    reservation_reply,
)
from store_server.usecases import checks
from store_server.usecases.feed import feed_position
from store_server.usecases.orders import (
    OrderResult,
    cancel_order,
    collect_pickup,
    get_order,
    place_order,
    update_order,
)
from store_server.usecases.reservations import (
    ReservationResult,
    Reserve,
    commit_reservation,
    refused_on_read,
    release_reservation,
    reserve,
)
from store_server.usecases.stock import availability

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
"""Commands one connection may have sent and not yet had answered; more wait unread."""
Clock = Callable[[], datetime]


async def serve_storefront(
    connection: ServerConnection, db: Database, access: Access, on_commit: Callable[[], None], clock: Clock
) -> None:
    """Answer one storefront's commands until it goes away.

    Args:
        access: the connection's credential; its scopes decide which commands run.
        on_commit: called after every command that wrote feed events, to wake consumers.
        clock: the time reservations and holds expire from (the expiry timer's clock).
    """
    session = StorefrontSession(db, access, clock, peer_of(connection.remote_address))
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    replies: asyncio.Queue[asyncio.Task[tuple[dict[str, Any], bool]] | None] = asyncio.Queue()
    sender = asyncio.create_task(_send_in_order(connection, replies, in_flight, on_commit))
    try:
        async for frame in connection:
            await in_flight.acquire()  # stop reading while MAX_IN_FLIGHT replies are due
            # The task enqueues its change with the writer before it first waits, so tasks
            # started in arrival order are committed in arrival order.
            await replies.put(asyncio.create_task(session.reply(frame)))
    except ConnectionClosed:
        pass
    finally:
        await replies.put(None)
        await sender
    log.info("storefront disconnected peer=%s credential=%s", session.peer, access.credential_id)


async def _send_in_order(
    connection: ServerConnection,
    replies: asyncio.Queue[asyncio.Task[tuple[dict[str, Any], bool]] | None],
    in_flight: asyncio.Semaphore,
    on_commit: Callable[[], None],
) -> None:
    """Send each reply when it is ready, in the order the commands came; after the connection
    closed, still see every command through (what it changed is committed all the same)."""
    open_ = True
    while (task := await replies.get()) is not None:
        reply: dict[str, Any] | None = None
        try:
            reply, wrote = await task
            if wrote:
                on_commit()
            if open_:
                await connection.send(encode(reply))
        except ConnectionClosed:
            open_ = False
        except Exception:  # a reply that cannot be made or sent must not stall the commands behind it
            log.exception("storefront reply failed peer=%s", connection.remote_address)
            if open_:
                req = reply.get("req") if reply is not None else None
                failed = error_reply(INTERNAL, "The store server failed; send the same request again.", req)
                with contextlib.suppress(ConnectionClosed):
                    await connection.send(encode(failed))
        finally:
            in_flight.release()


class StorefrontSession:
    """One ``/storefront`` connection."""

    def __init__(self, db: Database, access: Access, clock: Clock, peer: str) -> None:
        self.db = db
        self.access = access
        self.clock = clock
        self.peer = peer
        self.writing: Counter[tuple[str, str | None]] = Counter()
        """This connection's commands (kind, request id) handed to the writer and not answered
        yet. Commands of one connection are judged in the order sent: see ``_may_refuse_on_read``."""

    async def reply(self, frame: str | bytes) -> tuple[dict[str, Any], bool]:
        """The reply to one frame, and whether the command wrote anything."""
        req: str | None = None
        try:
            message = decode(frame)
            req = message.get("req")
            command = read_command(message, self.access.scopes, self.access.actor)
            return await self._run(command)
        except ScopeRefused as exc:
            log.info("scope refused peer=%s credential=%s scope=%s", self.peer, self.access.credential_id, exc.scope)
            return {**error_reply(exc.code, str(exc), exc.req), "scope": exc.scope}, False
        except ProtocolError as exc:
            return error_reply(exc.code, str(exc), exc.req), False
        except InsufficientStock as exc:
            return {**error_reply(exc.code, str(exc), req), "short": exc.short}, False
        except RequestRefused as exc:
            return error_reply(exc.code, str(exc), req), False
        except Exception:
            log.exception("storefront command failed peer=%s", self.peer)
            return error_reply(INTERNAL, "The store server failed; send the same request again.", req), False

    async def _run(self, command: Command) -> tuple[dict[str, Any], bool]:
        body = command.body
        if isinstance(body, StockQuery):
            as_of, levels = await self.db.run_reader(_query_stock, self.db, body)
            return levels_reply(command.req, body.location, as_of, levels), False
        if isinstance(body, OrderQuery):
            order = await self.db.run_reader(_get_order, self.db, body.order_id)
            return order_reply(command, order, None), False
        if isinstance(body, Reserve) and self._may_refuse_on_read(body):
            refused = _refused_on_read(self.db, body)
            if refused is not None:
                raise refused
        writing = (command.kind, command.request_id)
        self.writing[writing] += 1  # before the first wait: the next command of this connection sees it
        try:
            result, seq = await self.db.run_write(_write, command, self.clock())
        finally:
            self.writing[writing] -= 1
            if not self.writing[writing]:
                del self.writing[writing]
        log.info(
            "storefront command peer=%s type=%s request=%s duplicate=%s seq=%s",
            self.peer,
            command.kind,
            command.request_id,
            result.duplicate,
            seq,
        )
        if isinstance(result, ReservationResult):
            return reservation_reply(command, result, seq), seq is not None
        return order_reply(command, result, seq), seq is not None

    def _may_refuse_on_read(self, reserve: Reserve) -> bool:
        """Whether a read of what is committed judges ``reserve`` as the writer would after the
        commands this connection sent before it: none of them may free stock (a release, a
        cancel, an update) or use its request id. Reservations and new orders still with the
        writer can only take stock, so a reservation short now is short after them too."""
        return all(kind in _TAKING_ONLY and request_id != reserve.request_id for kind, request_id in self.writing)


_TAKING_ONLY = frozenset({RESERVATION_RESERVE, ORDER_PLACE})
"""Commands that can only take stock from what is available, never give it back."""


def _query_stock(db: Database, query: StockQuery) -> tuple[int, list[dict[str, Any]]]:
    with db.snapshot() as session:  # the levels exactly as of the seq read with them
        checks.known_location(session, query.location)
        checks.known_skus(session, query.skus)
        _, as_of = feed_position(session)
        return as_of, availability(session, query.skus, query.location)


def _refused_on_read(db: Database, reserve: Reserve) -> InsufficientStock | None:
    """A reservation refused for too little stock on a read on the event loop (SQLite; a few
    indexed rows, well under a millisecond), without the writer; None to ask the writer.

    Only a shortcut: when the read cannot be made (SQLite busy, or any error of the loop's own
    connection), the writer, on its own connection, answers as it always did.
    """
    reads = db.loop_reads()
    if reads is None:
        return None
    try:
        with reads.snapshot() as fetch:
            return refused_on_read(reserve, fetch)
    except ReadBusy:
        return None
    except sqlite3.Error as exc:
        log.warning("could not read a reservation's stock on the event loop (%s); the writer decides", exc)
        return None


def _get_order(db: Database, order_id: str) -> OrderResult:
    with db.read() as session:
        return get_order(session, order_id)


def _write(session: Session, command: Command, now: datetime) -> tuple[ReservationResult | OrderResult, int | None]:
    """Run a state-changing command as a write request (group commit); its result and the seq
    of its last event (None for a repeat, which writes nothing)."""
    result = _execute(session, command, now)
    return result, None if result.duplicate else feed_position(session)[1]


_CHANGES: Mapping[str, Callable[[Session, Any, datetime], ReservationResult | OrderResult]] = {
    RESERVATION_RESERVE: reserve,
    RESERVATION_COMMIT: commit_reservation,
    RESERVATION_RELEASE: release_reservation,
    ORDER_PLACE: place_order,
    ORDER_UPDATE: update_order,
    ORDER_CANCEL: lambda session, body, _now: cancel_order(session, body),
    ORDER_COLLECT: lambda session, body, _now: collect_pickup(session, body),
}
"""The use case of each state-changing command, given the body ``read_command`` made for it."""


def _execute(session: Session, command: Command, now: datetime) -> ReservationResult | OrderResult:
    return _CHANGES[command.kind](session, command.body, now)
