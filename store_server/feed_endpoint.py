"""The ``/feed`` endpoint: each storefront reads the stored log at its own pace.

Nothing is queued in memory per consumer: a consumer that falls behind simply reads
older rows later, so it can never slow a sale.
"""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pos_core.protocol import BAD_MESSAGE, ProtocolError, decode, encode, error_reply, field_int
from store_server.db.engine import Database
from store_server.feed_event import FeedEvent
from store_server.usecases.feed import feed_position, read_events

log = logging.getLogger(__name__)

BATCH = 200
SUBSCRIBE_TIMEOUT_S = 30.0


class FeedSignal:
    """Wakes feed consumers when events commit; each wait uses the event current at its start."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closing = False

    def current(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def close(self) -> None:
        self.closing = True
        self.notify()


async def serve_feed(connection: ServerConnection, db: Database, signal: FeedSignal, heartbeat_s: float) -> None:
    """Answer one subscribe, replay, then follow live until the consumer goes away."""
    peer = str(connection.remote_address)
    try:
        since = await _subscription(connection)
        if since is None:
            return
        epoch, latest = await db.run(_position, db)
        await connection.send(encode({"type": "subscribed", "epoch": epoch, "latest_seq": latest}))
        log.info("feed subscribed peer=%s since=%s latest=%s", peer, since, latest)
        position = since
        while not signal.closing:
            wake = signal.current()  # taken before reading, so a commit in between is not missed
            batch = await db.run(_read, db, position)
            for event in batch:
                await connection.send(encode(event.to_wire()))
                position = event.seq
            if batch:
                continue
            try:
                await asyncio.wait_for(wake.wait(), heartbeat_s)
            except TimeoutError:
                _, latest = await db.run(_position, db)
                await connection.send(encode({"type": "heartbeat", "latest_seq": latest}))
    except ConnectionClosed:
        pass
    log.info("feed disconnected peer=%s", peer)


async def _subscription(connection: ServerConnection) -> int | None:
    """The ``since`` of the consumer's subscribe; None when it sent something else (told why)."""
    try:
        frame = await asyncio.wait_for(connection.recv(), SUBSCRIBE_TIMEOUT_S)
    except TimeoutError:
        await connection.close(1008, "Send a subscribe message first.")
        return None
    try:
        message = decode(frame)
        if message["type"] != "subscribe":
            raise ProtocolError(BAD_MESSAGE, "Send {'type':'subscribe','since':N} first.", message.get("req"))
        return field_int(message, "since", low=0)
    except ProtocolError as exc:
        await connection.send(encode(error_reply(exc.code, str(exc), exc.req)))
        await connection.close(1008, "Subscribe first.")
        return None


def _position(db: Database) -> tuple[str, int]:
    with db.read() as session:
        return feed_position(session)


def _read(db: Database, after: int) -> list[FeedEvent]:
    with db.read() as session:
        return read_events(session, after, BATCH)
