"""Record ids: UUID version 7 (RFC 9562), made by whoever creates the record.

A version 7 UUID starts with the Unix time in milliseconds, so ids made in different
milliseconds sort in the order they were made (within one millisecond, at random). Every
table keyed by an id keeps that key in a B-tree: random (version 4) ids land on a random page
each, so every sale dirtied a page per table and wrote it to the log at commit; time-ordered
ids fill the last page, as an invoice number would. The other 74 bits are random, so
registers and servers need no coordination. An id must be unique, not secret (tokens and PINs
use ``secrets``), and asking the kernel for fresh bytes for every movement cost 5 % of the
store's database thread under load, so the bits come from two Mersenne Twister generators, both
seeded from the operating system's entropy, XORed: this module's own, and ``random``'s, which
reseeds itself in a forked child (where this module's would repeat its parent's). Either alone
can be made to repeat: Hypothesis seeds ``random``'s the same for every example it runs.
The store server accepts any UUID; old registers' version 4 ids still work.
"""

from __future__ import annotations

import random
import time
import uuid

_OWN = random.Random()  # noqa: S311 - seeded from the OS; unique, not secret
_VERSION_MASK = ~(0xF << 76 | 0x3 << 62)
_VERSION_7 = 0x7 << 76 | 0x2 << 62  # the version nibble, and RFC 9562's variant bits


def new_id() -> str:
    """A new UUID version 7 as lowercase text (``xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx``).

    Made without a ``uuid.UUID`` in between: the store server makes one for every movement it
    records, on the database thread.
    """
    bits = _OWN.getrandbits(80) ^ random.getrandbits(80)  # unique, not secret (the module docstring)
    h = f"{(time.time_ns() // 1_000_000 << 80 | bits) & _VERSION_MASK | _VERSION_7:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_at(unix_ms: int, random: bytes) -> uuid.UUID:
    """The version 7 UUID for ``unix_ms`` with the 10 ``random`` bytes (74 bits of them used)."""
    if not 0 <= unix_ms < 1 << 48 or len(random) != 10:
        raise ValueError("unix_ms must fit 48 bits and random must be 10 bytes")
    return uuid.UUID(int=_uuid7_int(unix_ms, random))


def _uuid7_int(unix_ms: int, random: bytes) -> int:
    """48 bits of milliseconds, then the random bytes with the version and variant bits set."""
    return ((unix_ms << 80 | int.from_bytes(random, "big")) & _VERSION_MASK) | _VERSION_7
