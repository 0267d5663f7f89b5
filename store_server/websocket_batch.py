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

from collections.abc import Sequence

from websockets.asyncio.connection import Connection

CHUNK_BYTES = 32 * 1024
"""Characters of messages framed and written together at most (one message may be longer)."""


async def send_texts(connection: Connection, texts: Sequence[str]) -> None:
    """Send each of ``texts`` as its own text message, in order, in as few writes as allowed.

    Raises:
        ConnectionClosed: the connection is closed (what was sent before stays sent).
    """
    start = 0
    while start < len(texts):
        end, size = start + 1, len(texts[start])
        while end < len(texts) and size + len(texts[end]) <= CHUNK_BYTES:
            size += len(texts[end])
            end += 1
        async with connection.send_context():
            for text in texts[start:end]:
                connection.protocol.send_text(text.encode())
            _write_at_once(connection)
        start = end


def _write_at_once(connection: Connection) -> None:
    """What the protocol has framed, in one write (``Connection.send_data`` writes each frame)."""
    chunks = connection.protocol.data_to_send()
    data = b"".join(chunks)
    if data:
        connection.transport.write(data)
    if not all(chunks):  # an end-of-stream marker, which websockets queues only once closing
        connection.transport.close()
