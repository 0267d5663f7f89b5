"""Several websocket messages in one write to the socket.

A feed consumer following the live tail is sent a few events after every group commit, each
its own message. Sent one by one, every message was its own ``send`` system call: the event
loop's largest single cost under full load (py-spy: ``_SelectorSocketTransport.write``, 18 % of
its samples; docs/benchmarks.md). ``send_texts`` frames the messages one after another, as
``Connection.send`` would (with the connection's compression), and writes them in one call.

It follows websockets' own recipe (``Connection.send_context``): the context checks that the
connection is open on entry and, on exit, applies the connection's flow control, so a consumer
that stops reading holds up only its own coroutine. A write carries at most ``CHUNK_BYTES``
of messages (or one bigger message), so what waits in memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from websockets.asyncio.connection import Connection

CHUNK_BYTES = 32 * 1024
"""Bytes of messages (UTF-8, before framing) written together at most; one message may be longer."""


async def send_texts(
    connection: Connection, texts: Sequence[str], before_write: Callable[[int], None] | None = None
) -> None:
    """Send each of ``texts`` as its own text message, in order, in as few writes as allowed.

    ``before_write(i)``, when given, is called before each write with the index of the last
    text it carries.

    Raises:
        ConnectionClosed: the connection is closed (what was written before stays written).
    """
    encoded = [text.encode() for text in texts]
    start = 0
    while start < len(encoded):
        end, size = start + 1, len(encoded[start])
        while end < len(encoded) and size + len(encoded[end]) <= CHUNK_BYTES:
            size += len(encoded[end])
            end += 1
        async with connection.send_context():
            for data in encoded[start:end]:
                connection.protocol.send_text(data)
            if before_write is not None:
                before_write(end - 1)
            # One write for what Connection.send_data would write frame by frame. Framing
            # messages on an open connection never queues its end-of-stream marker (b"").
            connection.transport.write(b"".join(connection.protocol.data_to_send()))
        start = end
