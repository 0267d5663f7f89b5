"""Several messages in one write: each arrives whole and in order, writes are few and bounded,
and a reader that stops holds the sender up rather than filling memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from store_server.websocket_batch import CHUNK_BYTES, send_texts
from tests.server.support import run

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def _pair(handler: Handler, **client: Any) -> AsyncIterator[ClientConnection]:
    async with serve(handler, "127.0.0.1", 0, write_limit=64 * 1024) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", **client) as ws:
            yield ws


def _counting_writes(connection: ServerConnection) -> list[int]:
    """The size of each write the connection makes to its transport (the real one still writes)."""
    sizes: list[int] = []
    write = connection.transport.write

    def counted(data: Any) -> None:
        sizes.append(len(data))
        write(data)

    connection.transport.write = counted  # type: ignore[method-assign]
    return sizes


def _send_through(
    texts: list[str], *, compression: str | None = None, announced: list[tuple[int, int]] | None = None
) -> tuple[list[str | bytes], list[int]]:
    """``texts`` sent by ``send_texts`` from a real server to a real client: what the client
    received, and the size of each write the server made. ``announced`` gets, for each call
    before a write, the last text's index and how many writes had been made by then."""
    writes: list[int] = []

    async def handler(connection: ServerConnection) -> None:
        sizes = _counting_writes(connection)
        before = None if announced is None else (lambda i: announced.append((i, len(sizes))))
        await send_texts(connection, texts, before)
        writes.extend(sizes)
        await connection.wait_closed()

    async def scenario() -> list[str | bytes]:
        async with _pair(handler, compression=compression) as ws:
            return [await asyncio.wait_for(ws.recv(), 5) for _ in texts]

    return run(scenario()), writes


@pytest.mark.parametrize("compression", ["deflate", None])
def test_each_text_is_its_own_message_in_order_in_one_write(compression: str | None) -> None:
    texts = [f'{{"type":"event","seq":{n},"data":"{"x" * (n % 50)}"}}' for n in range(1, 41)]
    received, writes = _send_through(texts, compression=compression)
    assert received == texts
    assert len(writes) == 1


def test_a_long_batch_goes_in_bounded_writes_each_announced_before_it_goes() -> None:
    texts = [f"{n:05d}" + "y" * 995 for n in range(100)]  # 100,000 bytes
    big = "z" * (CHUNK_BYTES + 10)
    announced: list[tuple[int, int]] = []  # (last text's index, writes made before)
    received, writes = _send_through([*texts, big, "last"], announced=announced)
    assert received == [*texts, big, "last"]
    frame_overhead = 4 * 32  # a few bytes of header per message
    assert all(size <= CHUNK_BYTES + frame_overhead for size in writes[:-2])
    assert len(writes) == 6  # 32 + 32 + 32 + 4 messages of 1,000, the big one alone, then "last"
    assert writes[-2] > CHUNK_BYTES
    assert announced == [(31, 0), (63, 1), (95, 2), (99, 3), (100, 4), (101, 5)]


def test_the_bound_counts_bytes_not_characters() -> None:
    texts = ["é" * 1000] * 20  # 2,000 bytes each: 16 to a write
    received, writes = _send_through(texts)
    assert received == texts
    assert len(writes) == 2


def _watch_pauses(connection: ServerConnection) -> asyncio.Event:
    """Set while the transport has told the connection to stop writing (its buffer is full)."""
    paused = asyncio.Event()
    pause, resume = connection.pause_writing, connection.resume_writing

    def on_pause() -> None:
        pause()
        paused.set()

    def on_resume() -> None:
        resume()
        paused.clear()

    connection.pause_writing = on_pause  # type: ignore[method-assign]
    connection.resume_writing = on_resume  # type: ignore[method-assign]
    return paused


def test_a_reader_that_stops_holds_up_the_sender_not_memory() -> None:
    buffered: list[int] = []
    batches = [0]
    measured = asyncio.Event()

    async def send_forever(connection: ServerConnection) -> None:
        while batches[0] < 1000:  # 100 MB: far more than any socket buffers, so it must be held up first
            await send_texts(connection, ["w" * 1000] * 100)
            batches[0] += 1
            await asyncio.sleep(0)

    async def handler(connection: ServerConnection) -> None:
        paused = _watch_pauses(connection)
        sender = asyncio.create_task(send_forever(connection))
        async with asyncio.timeout(20):
            while not sender.done():  # until the socket has pushed back and the sender stays put
                await paused.wait()
                seen = batches[0]
                for _ in range(50):
                    await asyncio.sleep(0)  # turns of the loop, in which a sender not held up would go on
                if paused.is_set() and batches[0] == seen:
                    break
        buffered.append(connection.transport.get_write_buffer_size())
        sender.cancel()
        measured.set()
        connection.transport.abort()

    async def scenario() -> None:
        async with _pair(handler, compression=None, max_queue=1) as ws:  # reads one message, then stops
            await measured.wait()
            ws.transport.abort()

    run(scenario())
    assert 0 < batches[0] < 1000
    assert 0 < buffered[0] <= 64 * 1024 + CHUNK_BYTES + 1024


def test_a_closed_connection_raises() -> None:
    async def handler(connection: ServerConnection) -> None:
        await connection.close()
        with pytest.raises(ConnectionClosed):
            await send_texts(connection, ["after close"])
        closed.append(True)

    closed: list[bool] = []

    async def scenario() -> None:
        async with _pair(handler) as ws:
            await ws.wait_closed()

    run(scenario())
    assert closed == [True]
