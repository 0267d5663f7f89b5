"""A checkout scale on a pseudo-terminal, speaking Toledo 8217 or NCI, for tests and demos.

Open ``serial:{fake.device}`` as you would the real scale. Set ``reading`` to what is on the
plate; set ``mute`` to make it stop answering (switched off). POSIX only (uses ``os.openpty``).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import tty

from peripherals.scale import ScaleProtocol
from peripherals.scale_codec import (
    NCI_ZERO,
    TOLEDO_ZERO,
    ScaleReading,
    WeightState,
    encode_nci_answer,
    encode_toledo_answer,
)

log = logging.getLogger(__name__)


class FakeScale:
    def __init__(self, protocol: ScaleProtocol, unit: str = "kg") -> None:
        self.protocol = protocol
        self.unit = unit
        self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
        self.mute = False
        self.commands: list[bytes] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"fake-scale-{self.device}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)

    def __enter__(self) -> FakeScale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                pending += os.read(self._master, 256)
            except OSError:  # no process has the port open right now
                continue
            pending = self._handle(pending)

    def _handle(self, pending: bytes) -> bytes:
        """Answer every complete command in ``pending``; returns the unfinished rest."""
        while pending:
            if self.protocol == "toledo8217":
                command, pending = pending[:1], pending[1:]
            else:
                end = pending.find(b"\r")
                if end < 0:
                    return pending
                command, pending = pending[: end + 1], pending[end + 1 :]
            with self._lock:
                self.commands.append(command)
            if self.mute:
                continue
            if command in (TOLEDO_ZERO, NCI_ZERO) and self.reading.state is WeightState.STABLE:
                self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
            encode = encode_toledo_answer if self.protocol == "toledo8217" else encode_nci_answer
            os.write(self._master, encode(command, self.reading, self.unit))
        return pending
