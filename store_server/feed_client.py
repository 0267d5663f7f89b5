"""The reference storefront consumer of the change feed (used by ``pos feed``).

It subscribes from the last seq it processed, drops anything it has already seen,
and reconnects with exponential backoff; a refused token is fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pos_core.protocol import ProtocolError, decode, encode
from store_server.errors import FeedRefused, StoreError
from store_server.feed_event import FeedEvent

log = logging.getLogger(__name__)

__all__ = ["FeedEvent", "follow_feed"]


async def follow_feed(
    url: str,
    token: str,
    since: int,
    on_event: Callable[[FeedEvent], None],
    *,
    stop: asyncio.Event | None = None,
    on_status: Callable[[str], None] | None = None,
) -> None:
    """Follow the feed at ``url`` (the ``/feed`` URL) until ``stop`` is set.

    Args:
        url: e.g. ``ws://127.0.0.1:8765/feed``.
        token: a storefront token.
        since: the last seq already processed (0 for everything).
        on_event: called once per new event, in seq order.
        stop: set it to return; None follows forever.
        on_status: told about connects, subscriptions and reconnects, in a sentence.

    Raises:
        FeedRefused: the server refused the token (401/403); the message is the server's.
    """
    stop = stop if stop is not None else asyncio.Event()
    status = on_status if on_status is not None else (lambda _text: None)
    progress = _Progress(since)
    headers = {"Authorization": f"Bearer {token}"}
    stopper = asyncio.ensure_future(stop.wait())
    try:
        async for ws in connect(url, additional_headers=headers, process_exception=_retry_unless_refused):
            status(f"Connected to {url}.")
            reader = asyncio.ensure_future(_consume(ws, progress, on_event, status))
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await reader
                await ws.close()
                return
            with contextlib.suppress(ConnectionClosed):
                reader.result()
            status(f"Lost the feed after seq {progress.last}; reconnecting.")
    except InvalidStatus as exc:
        body = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
        raise FeedRefused(body or f"The server refused the feed (HTTP {exc.response.status_code}).") from None
    finally:
        stopper.cancel()


@dataclass(slots=True)
class _Progress:
    last: int
    """The last seq handed to ``on_event``; survives reconnects."""


def _retry_unless_refused(exc: Exception) -> Exception | None:
    """Reconnect on network trouble; give up when the server says the token is wrong."""
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403, 404):
        return exc
    fatal = process_exception(exc)  # websockets' own rule: retry network trouble and 5xx
    if fatal is None:
        log.info("feed connection failed, retrying: %s", exc)
    return fatal


async def _consume(
    ws: ClientConnection, progress: _Progress, on_event: Callable[[FeedEvent], None], status: Callable[[str], None]
) -> None:
    await ws.send(encode({"type": "subscribe", "since": progress.last}))
    async for frame in ws:
        message = _decode(frame)
        kind = message.get("type")
        if kind == "subscribed":
            status(f"Subscribed from seq {progress.last}; the store is at seq {message.get('latest_seq')}.")
        elif kind == "event":
            event = FeedEvent.from_wire(message)
            if event.seq <= progress.last:
                continue  # at-least-once delivery: seen already
            on_event(event)
            progress.last = event.seq
        elif kind == "error":
            raise StoreError(str(message.get("message")))


def _decode(frame: str | bytes) -> dict[str, Any]:
    try:
        return decode(frame)
    except ProtocolError as exc:
        raise StoreError(f"The store server sent a frame we cannot read: {exc}") from None
