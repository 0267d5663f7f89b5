"""The base of every fake serial device: a pseudo-terminal, a thread answering it, and real line timing.

The host opens ``fake.device`` (``/dev/pts/N``) exactly as it would open ``/dev/ttyUSB0``. A pty
moves bytes instantly, so a fake that answered at once would make a 9600-baud device look a
hundred times faster than it is. With ``line_timing`` each answer waits as long as the question
and the answer take on a real line at the speed, data bits, parity and stop bits the host set on
the port (read back from the pty's termios), so timings measured against a fake are honest.
POSIX only (``os.openpty``).
"""

from __future__ import annotations

import logging
import os
import select
import termios
import threading
import tty
from typing import Self

log = logging.getLogger(__name__)

_RATES = {getattr(termios, f"B{n}"): n for n in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)}


def char_bits(cflag: int) -> int:
    """Bits one character takes on the line: start + data + parity + stop."""
    data = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}.get(cflag & termios.CSIZE, 8)
    return 1 + data + (1 if cflag & termios.PARENB else 0) + (2 if cflag & termios.CSTOPB else 1)


class PtyDevice:
    """Subclasses implement ``_handle(pending) -> rest`` and call ``_answer(question, answer)``."""

    def __init__(self, name: str, *, line_timing: bool = True) -> None:
        self.line_timing = line_timing
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=f"{name}-{self.device}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line_seconds(self, char_count: int) -> float:
        """How long ``char_count`` characters take at the port's current settings."""
        attrs = termios.tcgetattr(self._master)
        baud = _RATES.get(attrs[5], 9600)
        return char_count * char_bits(attrs[2]) / baud

    def _answer(self, question: bytes, answer: bytes) -> None:
        """Write ``answer`` once a real line would have carried the question and the answer."""
        if self.line_timing:
            delay = self.line_seconds(len(question) + len(answer))
            ready, _, _ = select.select([self._wake_r], [], [], delay)  # interruptible by close()
            if ready:
                return
        try:
            os.write(self._master, answer)
        except OSError:
            log.debug("%s: answer lost, nobody has the port open", self.device)

    def _handle(self, pending: bytes) -> bytes:
        raise NotImplementedError

    def _serve(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                pending += os.read(self._master, 1024)
            except OSError:  # no process has the port open right now
                continue
            pending = self._handle(pending)
