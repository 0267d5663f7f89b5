"""Record ids: UUID version 7 (RFC 9562), made by whoever creates the record.

A version 7 UUID starts with the Unix time in milliseconds, so ids made in different
milliseconds sort in the order they were made (within one millisecond, at random). Every
table keyed by an id keeps that key in a B-tree: random (version 4) ids land on a random page
each, so every sale dirtied a page per table and wrote it to the log at commit; time-ordered
ids fill the last page, as an invoice number would. The other 74 bits are random, so
registers and servers need no coordination.
The store server accepts any UUID; old registers' version 4 ids still work.
"""

from __future__ import annotations

import secrets
import time
import uuid


def new_id() -> str:
    """A new UUID version 7 as lowercase text (``xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx``)."""
    return str(uuid7_at(time.time_ns() // 1_000_000, secrets.token_bytes(10)))


def uuid7_at(unix_ms: int, random: bytes) -> uuid.UUID:
    """The version 7 UUID for ``unix_ms`` with the 10 ``random`` bytes (74 bits of them used)."""
    if not 0 <= unix_ms < 1 << 48 or len(random) != 10:
        raise ValueError("unix_ms must fit 48 bits and random must be 10 bytes")
    value = bytearray(unix_ms.to_bytes(6, "big") + random)
    value[6] = 0x70 | (value[6] & 0x0F)  # version 7
    value[8] = 0x80 | (value[8] & 0x3F)  # RFC 9562 variant
    return uuid.UUID(bytes=bytes(value))
