"""A checkout scale on a pseudo-terminal, speaking Toledo 8217 or NCI, for tests and demos.

Open ``serial:{fake.device}`` as you would the real scale. Set ``reading`` to what is on the
plate; set ``mute`` to make it stop answering (switched off). Answers take as long as on a real
line at the speed the host set (``line_timing``; see ``pty_device``). POSIX only.
"""

from __future__ import annotations

from peripherals.fakes.pty_device import PtyDevice
from peripherals.scale import ScaleProtocol
from peripherals.scale_codec import (
    NCI_ZERO,
    TOLEDO_ZERO,
    ScaleReading,
    WeightState,
    encode_nci_answer,
    encode_toledo_answer,
)


class FakeScale(PtyDevice):
    def __init__(self, protocol: ScaleProtocol, unit: str = "kg", *, line_timing: bool = True) -> None:
        self.protocol = protocol
        self.unit = unit
        self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
        self.mute = False
        self.commands: list[bytes] = []
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
            self._answer(command, encode(command, self.reading, self.unit))
        return pending
