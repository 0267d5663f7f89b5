"""The reference storefront consumer of the change feed, protocol revision 3 (used by ``pos feed``).

``FeedConsumer`` subscribes from the last seq it processed in the epoch it saw, applies
snapshots and events to a ``FeedMirror``, drops anything it has already processed,
acknowledges cumulatively, and reconnects with backoff. A refused token is fatal. A server
that does not speak revision 3 yet (``unsupported_protocol``) is followed under revision 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pos_core.protocol import ProtocolError, decode, encode
from store_server.errors import FeedRefused
from store_server.feed_event import FeedEvent
from store_server.feed_mirror import FeedMirror, HeldStock, Snapshot, SnapshotAssembly, StockFigures
from store_server.feed_protocol import (
    ACKED_PROTOCOL,
    ERROR,
    EVENT,
    EVENTS,
    FEED_PROTOCOL,
    HEARTBEAT,
    REPLAY,
    SNAPSHOT_BEGIN,
    SNAPSHOT_END,
    SNAPSHOT_RESERVATIONS,
    SNAPSHOT_STOCK,
    SUBSCRIBED,
    UNSUPPORTED_PROTOCOL,
    FeedProtocolError,
    ack_frame,
    events_in,
    subscribe_frame,
)

log = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "FeedConsumer",
    "FeedEvent",
    "FeedMirror",
    "FeedProtocolError",
    "HeldStock",
    "Snapshot",
    "StockFigures",
    "follow_feed",
]

EventHandler = Callable[[FeedEvent], Awaitable[None] | None]
SnapshotHandler = Callable[[Snapshot], Awaitable[None] | None]

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""A sale of many lines makes a big ``sale.completed`` event; allow generous frames."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnects: from ``first_s`` doubling to ``most_s``, each jittered down by up to half."""

    first_s: float = 0.25
    most_s: float = 30.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter spreads reconnects; not a secret
            delay = min(self.most_s, delay * self.factor)


class _Resync(Exception):
    """The stream broke its order (a gap); reconnect and resume from the last processed seq."""


class FeedConsumer:
    """Follows the feed at ``url`` into a ``FeedMirror``, across disconnects, without loss or repeats.

    Args:
        url: the ``/feed`` URL, e.g. ``ws://127.0.0.1:8765/feed``.
        token: a storefront token.
        mirror: where to resume from (a mirror kept from an earlier run); a new one starts empty.
        on_event: called once per new event, in seq order, after the mirror has taken it.
        on_snapshot: called after the mirror has been replaced by a snapshot.
        on_status: told about connects, subscriptions and reconnects, in a sentence.
        snapshot_when_new: with no epoch yet (a new mirror), ask for a snapshot first so the
            mirror holds every level; False just replays the log after ``mirror.last_seq``.
        backoff: delays between reconnects.
        ack_delay_s: acknowledge once nothing has arrived for this long (and at half the cap).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        mirror: FeedMirror | None = None,
        on_event: EventHandler | None = None,
        on_snapshot: SnapshotHandler | None = None,
        on_status: Callable[[str], None] | None = None,
        snapshot_when_new: bool = True,
        backoff: Backoff | None = None,
        ack_delay_s: float = 0.05,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.mirror = mirror if mirror is not None else FeedMirror()
        self.phase = "idle"
        """``connecting``, ``subscribing``, ``snapshot``, ``replay`` (catching up) or ``live``."""
        self.lost: Counter[str] = Counter()
        """How many connections were lost in each phase."""
        self.duplicates = 0
        """Events received again and dropped."""
        self._headers = {"Authorization": f"Bearer {token}"}
        self._on_event = on_event
        self._on_snapshot = on_snapshot
        self._status = on_status if on_status is not None else (lambda _text: None)
        self._snapshot_when_new = snapshot_when_new
        self._backoff = backoff if backoff is not None else Backoff()
        self._ack_delay_s = ack_delay_s
        self._open_timeout_s = open_timeout_s
        self.protocol = FEED_PROTOCOL
        """The feed protocol revision subscribed with: 3, or 2 once a server refused 3."""

    async def run(self, stop: asyncio.Event | None = None) -> FeedMirror:
        """Follow the feed until ``stop`` is set (None: forever); returns the mirror.

        Raises:
            FeedRefused: the server refused the token (401/403/404); the message is the server's.
            FeedProtocolError: the server answered with an error frame or broke the protocol.
            Exception: whatever ``on_event`` or ``on_snapshot`` raised; the mirror is still
                consistent, so a new run from it resumes correctly.
        """
        stop = stop if stop is not None else asyncio.Event()
        delays = self._backoff.delays()
        while not stop.is_set():
            self.phase = "connecting"
            ws = await self._connect(stop, delays)
            if ws is None:
                continue
            start = (self.mirror.epoch, self.mirror.last_seq)
            try:
                await self._until_stopped(ws, stop)
            finally:
                await ws.close()
            if stop.is_set():
                break
            self.lost[self.phase] += 1
            self._status(f"Lost the feed after seq {self.mirror.last_seq} ({self.phase}); reconnecting.")
            if (self.mirror.epoch, self.mirror.last_seq) != start:
                delays = self._backoff.delays()  # it was working: start the backoff afresh
            await _pause(stop, next(delays))
        self.phase = "idle"
        return self.mirror

    async def _connect(self, stop: asyncio.Event, delays: Iterator[float]) -> ClientConnection | None:
        try:
            ws = await connect(
                self.url,
                additional_headers=self._headers,
                open_timeout=self._open_timeout_s,
                max_size=MAX_FRAME_BYTES,
            )
        except Exception as exc:
            fatal = _retry_unless_refused(exc)
            if isinstance(fatal, InvalidStatus):
                body = fatal.response.body.decode(errors="replace").strip() if fatal.response.body else ""
                raise FeedRefused(body or f"The server refused the feed (HTTP {fatal.response.status_code}).") from None
            if fatal is not None:
                raise fatal from exc
            delay = next(delays)
            self._status(f"Cannot reach {self.url} ({exc}); retrying in {delay:.1f} s.")
            await _pause(stop, delay)
            return None
        self._status(f"Connected to {self.url}.")
        return ws

    async def _until_stopped(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        reader = asyncio.ensure_future(self._consume(ws))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await reader
        if reader.done() and not reader.cancelled():
            with contextlib.suppress(ConnectionClosed, _Resync):
                reader.result()

    async def _consume(self, ws: ClientConnection) -> None:
        mirror = self.mirror
        new = mirror.epoch is None and self._snapshot_when_new
        self.phase = "subscribing"
        await ws.send(self._subscribe_frame(new))
        acked = mirror.last_seq
        ack_every = 1
        latest = 0
        subscribed = False
        assembly: SnapshotAssembly | None = None
        while True:
            if acked < mirror.last_seq:
                try:
                    # asyncio.timeout, not wait_for: wait_for on 3.11 can swallow a cancel (our stop).
                    async with asyncio.timeout(self._ack_delay_s):
                        frame = await ws.recv()
                except TimeoutError:
                    acked = await _ack(ws, mirror.last_seq)
                    continue
            else:
                frame = await ws.recv()
            message = _decode(frame)
            kind = message["type"]
            if kind in (EVENT, EVENTS):
                for event in events_in(message) if kind == EVENTS else [message]:
                    await self._event(event)
                if self.phase == REPLAY and mirror.last_seq >= latest:
                    self.phase = "live"
                if mirror.last_seq - acked >= ack_every:
                    acked = await _ack(ws, mirror.last_seq)
            elif kind == SUBSCRIBED:
                latest, ack_every = self._subscribed(message)
                subscribed = True
            elif kind == SNAPSHOT_BEGIN:
                assembly = SnapshotAssembly(message)
                self.phase = "snapshot"
            elif kind == SNAPSHOT_STOCK:
                if assembly is None:
                    raise FeedProtocolError("The store server sent snapshot levels outside a snapshot.")
                assembly.add(message)
            elif kind == SNAPSHOT_RESERVATIONS:
                if assembly is None:
                    raise FeedProtocolError("The store server sent snapshot reservations outside a snapshot.")
                assembly.add_reservations(message)
            elif kind == SNAPSHOT_END:
                if assembly is None:
                    raise FeedProtocolError("The store server ended a snapshot it never began.")
                await self._snapshot(assembly.finish(message))
                assembly = None
                acked = mirror.last_seq  # the server counts a snapshot as acknowledged
                self.phase = REPLAY if mirror.last_seq < latest else "live"
            elif kind == HEARTBEAT:
                if type(message.get("latest_seq")) is int:
                    latest = max(latest, message["latest_seq"])
                if acked < mirror.last_seq:
                    acked = await _ack(ws, mirror.last_seq)
            elif kind == ERROR and not subscribed and self._older_server(message):
                self.protocol = ACKED_PROTOCOL  # for good: the same server is met again on reconnects
                await ws.send(self._subscribe_frame(new))
            elif kind == ERROR:
                raise FeedProtocolError(f"The store server refused the feed: {message.get('message')}")
            # Any other type is from a later revision: ignore it.

    def _subscribe_frame(self, snapshot: bool) -> str:
        mirror = self.mirror
        return encode(subscribe_frame(mirror.last_seq, mirror.epoch, snapshot=snapshot, protocol=self.protocol))

    def _older_server(self, error: dict[str, Any]) -> bool:
        """Whether the error that answered our subscribe is a server before revision 5 (feed protocol 3) refusing it."""
        return error.get("code") == UNSUPPORTED_PROTOCOL and self.protocol > ACKED_PROTOCOL

    def _subscribed(self, message: dict[str, Any]) -> tuple[int, int]:
        """Check the reply to our subscribe; returns the store's latest seq and how often to ack."""
        protocol, epoch, latest = message.get("protocol"), message.get("epoch"), message.get("latest_seq")
        if protocol != self.protocol:
            raise FeedProtocolError(
                f"The store server speaks feed protocol {protocol or 1}; this client needs {ACKED_PROTOCOL} or "
                f"{FEED_PROTOCOL}. Upgrade the store server."
            )
        if not isinstance(epoch, str) or type(latest) is not int:
            raise FeedProtocolError("The store server's subscribed reply has no epoch or latest_seq.")
        if message.get("resume") == REPLAY:
            if self.mirror.epoch is None:
                self.mirror.epoch = epoch
            elif self.mirror.epoch != epoch:
                raise FeedProtocolError("The store server replayed events from another epoch; report this.")
            self.phase = REPLAY if self.mirror.last_seq < latest else "live"
        self._status(
            f"Subscribed from seq {self.mirror.last_seq}; the store is at seq {latest}"
            + (f"; a snapshot follows ({message.get('snapshot_reason')})." if message.get("resume") != REPLAY else ".")
        )
        max_unacked = message.get("max_unacked")
        return latest, max(1, max_unacked // 2) if type(max_unacked) is int else 1

    async def _event(self, message: dict[str, Any]) -> None:
        try:
            event = FeedEvent.from_wire(message)
        except ValueError as exc:
            raise FeedProtocolError(f"The store server sent an event we cannot read: {exc}") from None
        mirror = self.mirror
        if not mirror.is_new(event):
            self.duplicates += 1
            return
        if event.seq != mirror.last_seq + 1:
            log.warning("feed gap: got seq %s after %s; resubscribing", event.seq, mirror.last_seq)
            raise _Resync
        mirror.apply_levels(event)
        mirror.apply_reservation(event)
        if self._on_event is not None:
            await _call(self._on_event(event))
        mirror.last_seq = event.seq

    async def _snapshot(self, snapshot: Snapshot) -> None:
        self.mirror.apply_snapshot(snapshot)
        self._status(
            f"Snapshot of {len(snapshot.levels)} levels and {len(snapshot.reservations)} open reservations"
            f" as of seq {snapshot.as_of_seq} applied."
        )
        if self._on_snapshot is not None:
            await _call(self._on_snapshot(snapshot))


async def follow_feed(
    url: str,
    token: str,
    since: int,
    on_event: EventHandler,
    *,
    stop: asyncio.Event | None = None,
    on_status: Callable[[str], None] | None = None,
    epoch: str | None = None,
    on_snapshot: SnapshotHandler | None = None,
) -> FeedMirror:
    """Follow the feed at ``url`` from ``since`` until ``stop`` is set; returns where it got to.

    Args:
        url: e.g. ``ws://127.0.0.1:8765/feed``.
        token: a storefront token.
        since: the last seq already processed (0 for everything in the log).
        on_event: called once per new event, in seq order.
        stop: set it to return; None follows forever.
        on_status: told about connects, subscriptions and reconnects, in a sentence.
        epoch: the epoch ``since`` belongs to; when the store's differs (a restored database)
            the server sends a snapshot. None trusts ``since``.
        on_snapshot: called with each snapshot; the events after it follow through ``on_event``.
            Besides an epoch change, the server sends one when ``since`` is no longer stored or
            more events behind than its snapshot threshold; the events it stands for are skipped.

    Raises:
        FeedRefused: the server refused the token (401/403); the message is the server's.
        FeedProtocolError: the server answered with an error frame.
    """
    consumer = FeedConsumer(
        url,
        token,
        mirror=FeedMirror(epoch=epoch, last_seq=since),
        on_event=on_event,
        on_snapshot=on_snapshot,
        on_status=on_status,
        snapshot_when_new=False,
    )
    return await consumer.run(stop)


def _retry_unless_refused(exc: Exception) -> Exception | None:
    """None to reconnect (network trouble, 5xx); the exception when the server said no."""
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403, 404):
        return exc
    fatal = process_exception(exc)  # websockets' own rule: retry network trouble and 5xx
    if fatal is None:
        log.info("feed connection failed, retrying: %s", exc)
    return fatal


async def _ack(ws: ClientConnection, seq: int) -> int:
    await ws.send(encode(ack_frame(seq)))
    return seq


async def _call(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


async def _pause(stop: asyncio.Event, delay: float) -> None:
    """Wait ``delay`` seconds, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()


def _decode(frame: str | bytes) -> dict[str, Any]:
    try:
        return decode(frame)
    except ProtocolError as exc:
        raise FeedProtocolError(f"The store server sent a frame we cannot read: {exc}") from None
