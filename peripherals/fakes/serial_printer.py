"""A serial ESC/POS receipt printer on a pseudo-terminal: records every byte, answers ``DLE EOT n``.

Open ``serial:{fake.device}``. ``status`` maps ``n`` to the status byte it answers (a missing
``n`` gets no answer, like a printer that does not support it); ``received()`` and
``wait_for_bytes()`` are for assertions. Answers keep real line timing (``pty_device``).
"""

from __future__ import annotations

import threading

from peripherals.fakes.pty_device import PtyDevice

_DLE_EOT = b"\x10\x04"


class FakeSerialPrinter(PtyDevice):
    def __init__(self, status: dict[int, int] | None = None, *, line_timing: bool = True) -> None:
        self.status: dict[int, int] = dict(status or {})
        self._data = bytearray()
        self._arrived = threading.Condition()
        super().__init__("fake-serial-printer", line_timing=line_timing)

    def received(self) -> bytes:
        with self._arrived:
            return bytes(self._data)

    def wait_for_bytes(self, count: int, timeout: float = 5.0) -> bytes:
        """Everything received, once at least ``count`` bytes have arrived.

        Raises:
            TimeoutError: fewer arrived within ``timeout``.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._data) >= count, timeout):
                raise TimeoutError(f"fake serial printer got {len(self._data)} of {count} bytes")
            return bytes(self._data)

    def _handle(self, pending: bytes) -> bytes:
        """Record what arrived and answer each complete ``DLE EOT n``; keep an unfinished one."""
        cut = len(pending)
        if pending.endswith(_DLE_EOT):
            cut -= 2
        elif pending.endswith(_DLE_EOT[:1]):
            cut -= 1
        chunk, rest = pending[:cut], pending[cut:]
        with self._arrived:
            self._data += chunk
            self._arrived.notify_all()
        start = 0
        while (i := chunk.find(_DLE_EOT, start)) >= 0:
            n = chunk[i + 2]
            if n in self.status:
                self._answer(chunk[i : i + 3], bytes([self.status[n]]))
            start = i + 3
        return rest
