"""The ``/feed`` endpoint: each storefront reads the stored log at its own pace.

Nothing is queued in memory per consumer beyond one batch: a consumer that falls behind
simply reads older rows later, one that stops acknowledging is sent nothing more, and one
that stops reading blocks only its own coroutine. None of them can slow a sale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pos_core.protocol import ProtocolError, encode, error_reply
from store_server.access import peer_of
from store_server.db.engine import Database
from store_server.errors import StoreError
from store_server.feed_protocol import (
    ACKED_PROTOCOL,
    ALREADY_SUBSCRIBED,
    FEED_PROTOCOL,
    NOT_SUBSCRIBED,
    SNAPSHOT_END,
    AckWindow,
    LogPosition,
    StockSnapshot,
    Subscribe,
    events_messages,
    heartbeat_frame,
    parse_consumer_message,
    snapshot_frames,
    snapshot_reason,
    subscribed_frame,
)
from store_server.usecases.feed import (
    READ_EVENTS,
    event_frames,
    feed_position,
    log_position,
    read_event_frames,
    read_stock_snapshot,
)
from store_server.websocket_batch import send_texts

log = logging.getLogger(__name__)

REPLY_QUEUE = 8
"""Error replies waiting to go out; when full, we stop reading the consumer's frames."""
LOOP_READ_ROWS = 100
"""Events read at most in one read on the event loop, at the tail of the log (well under a
millisecond); a longer read runs on the readers' thread."""


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """How the feed treats each consumer (docs/protocol.md, ``/feed``)."""

    max_unacked: int = 1000
    """Events sent beyond the consumer's last ack before the server waits for an ack."""
    snapshot_threshold: int = 10_000
    """A consumer more events behind than this gets a snapshot instead of a replay."""
    batch: int = 200
    """Events read from the log at a time."""
    snapshot_batch: int = 500
    """Levels per ``snapshot.stock`` frame."""
    subscribe_timeout_s: float = 30.0
    """A connection that has not subscribed by then is closed."""

    def __post_init__(self) -> None:
        for name in ("max_unacked", "batch", "snapshot_batch"):
            if getattr(self, name) < 1:
                raise StoreError(f"The feed setting {name} must be at least 1.")
        if self.snapshot_threshold < 0:
            raise StoreError("The feed setting snapshot_threshold must not be negative.")


class FeedSignal:
    """Wakes every feed consumer when events commit."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()
        self.closing = False

    def attach(self) -> asyncio.Event:
        """A new consumer's wake-up event; ``detach`` it when the consumer goes."""
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def detach(self, event: asyncio.Event) -> None:
        self._waiters.discard(event)

    def notify(self) -> None:
        for event in self._waiters:
            event.set()

    def close(self) -> None:
        self.closing = True
        self.notify()


async def serve_feed(
    connection: ServerConnection, db: Database, signal: FeedSignal, heartbeat_s: float, settings: FeedSettings
) -> None:
    """Serve one consumer: subscribe, replay or snapshot, then follow live until it goes away."""
    await _Consumer(connection, db, signal, heartbeat_s, settings).serve()


class _Consumer:
    """One ``/feed`` connection. Only ``_send_loop`` writes to the socket; ``_receive`` only reads."""

    def __init__(
        self, connection: ServerConnection, db: Database, signal: FeedSignal, heartbeat_s: float, settings: FeedSettings
    ) -> None:
        self.connection = connection
        self.db = db
        self.signal = signal
        self.heartbeat_s = heartbeat_s
        self.settings = settings
        self.peer = peer_of(connection.remote_address)
        self.wake = signal.attach()
        self.replies: asyncio.Queue[dict[str, Any] | Subscribe | None] = asyncio.Queue(REPLY_QUEUE)
        """Replies in the order their requests came; None where a subscription starts (its
        ``subscribed`` frame, and the snapshot if one is due, go there); a ``Subscribe`` sent
        while the one before it was still starting, judged once that one started or failed."""
        self.subscription: Subscribe | None = None
        self.window: AckWindow | None = None
        self.started = False
        self.deferred = 0
        """Subscriptions in ``replies`` still to judge: one sent after them waits its turn."""
        self.at_tail = False
        """Whether the last read of the log came back short: the consumer has caught up."""
        self.gone = False
        self.last_send = asyncio.get_running_loop().time()

    async def serve(self) -> None:
        receiver = asyncio.create_task(self._receive())
        try:
            await self._send_loop()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("feed failed peer=%s", self.peer)
            with contextlib.suppress(ConnectionClosed):
                await self.connection.close(1011, "The store server failed; reconnect and resubscribe.")
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            self.signal.detach(self.wake)
        log.info("feed disconnected peer=%s sent=%s", self.peer, self.window.sent if self.window else None)

    async def _receive(self) -> None:
        try:
            async for frame in self.connection:
                subscribed, reply = self._take(frame)
                if subscribed or reply is not None:
                    await self.replies.put(reply)
                self.wake.set()
        except ConnectionClosed:
            pass
        finally:
            self.gone = True
            self.wake.set()

    def _take(self, frame: str | bytes) -> tuple[bool, dict[str, Any] | Subscribe | None]:
        """Apply one consumer frame: whether it started a subscription, and the error reply
        when it cannot be acted on (or a subscription to judge once the one before it has
        started: that one may yet be refused)."""
        try:
            message = parse_consumer_message(frame)
            if isinstance(message, Subscribe):
                if self.subscription is None and not self.deferred:
                    self._subscribe(message)
                    return True, None
                if not self.started:
                    self.deferred += 1
                    return False, message
                raise _already_subscribed(message)
            if self.window is None:
                raise ProtocolError(NOT_SUBSCRIBED, "Subscribe before acknowledging events.", message.req)
            self.window.on_ack(message)
            return False, None
        except ProtocolError as exc:
            return False, error_reply(exc.code, str(exc), exc.req)

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.subscribe_timeout_s
        while not self.gone and not self.signal.closing:
            self.wake.clear()  # before looking, so a wake-up while we look is not lost
            if await self._send_replies():
                continue
            if not self.started:
                if loop.time() >= deadline:
                    await self.connection.close(1008, "Send a subscribe message first.")
                    return
                await self._wait(deadline - loop.time())
            elif not await self._send_events():
                if loop.time() - self.last_send >= self.heartbeat_s:
                    await self._heartbeat()
                else:
                    await self._wait(self.heartbeat_s - (loop.time() - self.last_send))

    async def _wait(self, at_most_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(at_most_s, 0.0)):
                await self.wake.wait()

    async def _send(self, frame: dict[str, Any] | str) -> None:
        self.last_send = asyncio.get_running_loop().time()
        await self.connection.send(frame if isinstance(frame, str) else encode(frame))

    def _subscribe(self, message: Subscribe) -> None:
        self.subscription = message
        cap = self.settings.max_unacked if message.protocol >= ACKED_PROTOCOL else None
        self.window = AckWindow(message.since, cap)

    async def _send_replies(self) -> bool:
        sent = False
        while not self.replies.empty():
            reply = self.replies.get_nowait()
            if isinstance(reply, Subscribe):  # sent behind a subscription that was starting
                self.deferred -= 1
                if self.subscription is None:  # which was refused: this one is the subscription
                    self._subscribe(reply)
                    await self._start(reply)
                else:
                    exc = _already_subscribed(reply)
                    await self._send(error_reply(exc.code, str(exc), exc.req))
            elif reply is not None:
                await self._send(reply)
            elif self.subscription is not None:
                await self._start(self.subscription)
            sent = True
        return sent

    async def _start(self, sub: Subscribe) -> None:
        position = await self.db.run_reader(_log_position, self.db)
        try:
            reason = snapshot_reason(sub, position, self.settings.snapshot_threshold)
        except ProtocolError as exc:
            self.subscription = self.window = None  # the consumer may subscribe again, differently
            await self._send(error_reply(exc.code, str(exc), exc.req))
            return
        frame = subscribed_frame(
            sub, position, reason, max_unacked=self.settings.max_unacked, heartbeat_s=self.heartbeat_s
        )
        await self._send(frame)
        log.info(
            "feed subscribed peer=%s protocol=%s since=%s latest=%s snapshot=%s",
            self.peer,
            sub.protocol,
            sub.since,
            position.latest_seq,
            reason,
        )
        if reason is not None:
            await self._send_snapshot()
        self.started = True

    async def _send_snapshot(self) -> None:
        snapshot = await self.db.run_reader(_read_snapshot, self.db)
        assert self.window is not None  # set with the subscription
        for frame in snapshot_frames(snapshot, self.settings.snapshot_batch):
            if frame["type"] == SNAPSHOT_END:
                self.window.restart_at(snapshot.as_of_seq)
            await self._send(frame)

    async def _send_events(self) -> bool:
        """Send the next batch the ack window allows; True when it was full, so more may be
        waiting. After a short batch the log held nothing more when it was read, and the
        wake-up flag, cleared before the read, tells of any commit since."""
        assert self.window is not None  # set with the subscription
        room = self.window.room(self.settings.batch)
        if room == 0:
            return False
        frames, asked = await self._read_frames(self.window.sent, room)
        if frames:
            window = self.window
            self.last_send = asyncio.get_running_loop().time()
            assert self.subscription is not None  # a window comes with a subscription
            # Revision 3 sends what was read in as few messages as it takes; earlier ones, an event a message.
            messages = events_messages(frames) if self.subscription.protocol >= FEED_PROTOCOL else frames
            # Each write's events count as sent before it goes: the consumer may ack at once.
            await send_texts(
                self.connection, [text for _, text in messages], lambda i: window.record_sent(messages[i][0])
            )
        self.at_tail = len(frames) < asked
        return len(frames) == asked

    async def _read_frames(self, after: int, room: int) -> tuple[list[tuple[int, str]], int]:
        """The next events' frames, and how many were asked for.

        At the tail of the log (the last read came back short), up to ``LOOP_READ_ROWS`` are
        read on the event loop itself where the database allows (``store_server.db.loop_reads``);
        a consumer catching up reads whole batches on the readers' thread, which the loop does
        not wait for.
        """
        reads = self.db.loop_reads() if self.at_tail else None
        if reads is not None:
            limit = min(room, LOOP_READ_ROWS)
            rows = reads.fetch_all(READ_EVENTS, {"after": after, "limit": limit})
            if rows is not None:
                return event_frames(rows), limit
        return await self.db.run_reader(_read_frames, self.db, after, room), room

    async def _heartbeat(self) -> None:
        assert self.window is not None  # set with the subscription
        _, latest = await self.db.run_reader(_position, self.db)
        await self._send(heartbeat_frame(latest, self.window))


def _already_subscribed(message: Subscribe) -> ProtocolError:
    return ProtocolError(
        ALREADY_SUBSCRIBED,
        "This connection is already subscribed; to start elsewhere, open a new connection.",
        message.req,
    )


def _log_position(db: Database) -> LogPosition:
    with db.read() as session:
        return log_position(session)


def _position(db: Database) -> tuple[str, int]:
    with db.read() as session:
        return feed_position(session)


def _read_frames(db: Database, after: int, limit: int) -> list[tuple[int, str]]:
    with db.read() as session:
        return read_event_frames(session, after, limit)


def _read_snapshot(db: Database) -> StockSnapshot:
    with db.snapshot() as session:
        return read_stock_snapshot(session)
