"""A checkout scale on a pseudo-terminal, speaking Toledo 8217 or NCI, for tests and demos.

Open ``serial:{fake.device}`` as you would the real scale. Set ``reading`` to what is on the
plate; set ``mute`` to make it stop answering (switched off). Answers take as long as on a real
line at the speed the host set (``line_timing``; see ``pty_device``). POSIX only.

``settling=N`` makes goods settle like on a real plate: after the scale was not asked for
``idle_s`` seconds (the cashier puts something new on it), the first N weight requests are
answered "in motion", then ``reading`` itself. The demo uses it.
"""

from __future__ import annotations

import time
from dataclasses import replace

from peripherals.fakes.pty_device import PtyDevice
from peripherals.scale import ScaleProtocol
from peripherals.scale_codec import (
    NCI_WEIGHT,
    NCI_ZERO,
    TOLEDO_WEIGHT,
    TOLEDO_ZERO,
    ScaleReading,
    WeightState,
    encode_nci_answer,
    encode_toledo_answer,
)


class FakeScale(PtyDevice):
    def __init__(
        self,
        protocol: ScaleProtocol,
        unit: str = "kg",
        *,
        line_timing: bool = True,
        settling: int = 0,
        idle_s: float = 1.0,
    ) -> None:
        self.protocol = protocol
        self.unit = unit
        self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
        self.mute = False
        self.commands: list[bytes] = []
        self.settling = settling
        self.idle_s = idle_s
        self._unsettled = 0
        self._asked_at = float("-inf")
        super().__init__("fake-scale", line_timing=line_timing)

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
            self._answer(command, encode(command, self._plate(command), self.unit))
        return pending

    def _plate(self, command: bytes) -> ScaleReading:
        """What the plate reads for ``command``: in motion while new goods settle (``settling``)."""
        if command not in (TOLEDO_WEIGHT, NCI_WEIGHT) or not self.settling:
            return self.reading
        now = time.monotonic()
        if now - self._asked_at > self.idle_s:
            self._unsettled = self.settling
        self._asked_at = now
        if self._unsettled and self.reading.state is WeightState.STABLE:
            self._unsettled -= 1
            return replace(self.reading, state=WeightState.IN_MOTION)
        return self.reading
