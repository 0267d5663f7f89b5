"""A customer pole display on a pseudo-terminal whose screen changes as fast as a real serial line.

Open ``serial:{fake.device}``. Bytes become visible only once a real line at the host's port
settings would have carried them (``line_timing``), so ``wait_for_screen`` returns at the moment
a customer would see the text. ``screen()`` is what the two lines show now. POSIX only.
"""

from __future__ import annotations

import select
import threading
import time

from peripherals.fakes.pty_device import PtyDevice
from peripherals.line_display import DisplayProtocol, decode_display


class FakeLineDisplay(PtyDevice):
    def __init__(self, protocol: DisplayProtocol, *, line_timing: bool = True) -> None:
        self.protocol: DisplayProtocol = protocol
        self._data = bytearray()
        self._shown = threading.Condition()
        self._line_free_at = 0.0
        super().__init__("fake-line-display", line_timing=line_timing)

    def received(self) -> bytes:
        with self._shown:
            return bytes(self._data)

    def screen(self) -> tuple[str, str]:
        return decode_display(self.received(), self.protocol)

    def wait_for_screen(self, upper: str, lower: str, timeout: float = 5.0) -> None:
        """Return once the screen shows ``upper``/``lower`` (each compared without trailing spaces).

        Raises:
            TimeoutError: it did not within ``timeout``.
        """
        want = (upper.rstrip(), lower.rstrip())

        def showing() -> bool:
            shown = decode_display(bytes(self._data), self.protocol)
            return (shown[0].rstrip(), shown[1].rstrip()) == want

        with self._shown:
            if not self._shown.wait_for(showing, timeout):
                raise TimeoutError(f"fake display shows {decode_display(bytes(self._data), self.protocol)}")

    def wait_for_change(self, shown: tuple[str, str], timeout: float) -> tuple[str, str]:
        """What the screen shows once it differs from ``shown``; ``shown`` again after ``timeout``."""
        with self._shown:
            self._shown.wait_for(lambda: decode_display(bytes(self._data), self.protocol) != shown, timeout)
            return decode_display(bytes(self._data), self.protocol)

    def _handle(self, pending: bytes) -> bytes:
        if self.line_timing:  # the line is busy until the previous bytes are through, then these
            now = time.monotonic()
            self._line_free_at = max(self._line_free_at, now) + self.line_seconds(len(pending))
            ready, _, _ = select.select([self._wake_r], [], [], max(self._line_free_at - now, 0))
            if ready:
                return b""
        with self._shown:
            self._data += pending
            self._shown.notify_all()
        return b""
