"""A checkout scale on a pseudo-terminal, speaking Toledo 8217 or NCI (``FakeScale``) or streaming
CAS lines (``FakeCasScale``), for tests and demos.

Open ``serial:{fake.device}`` as you would the real scale. Set ``reading`` to what is on the
plate; set ``mute`` to make it stop answering (switched off). Answers take as long as on a real
line at the speed the host set (``line_timing``; see ``pty_device``). POSIX only.

``settling=N`` makes goods settle like on a real plate: after the scale was not asked for
``idle_s`` seconds (the cashier puts something new on it), the first N weight requests are
answered "in motion", then ``reading`` itself. The demo uses it.

``reading`` is the gross weight on the plate; ``tare`` is the tare the scale itself holds (grams).
An NCI fake tares on ``T CR`` with a stable plate (an empty plate clears the tare) and then answers
net weights with status byte 3 saying so; it refuses ``Z`` while tared, as scales zero only in
gross mode. A Toledo fake has no tare command: set ``tare`` as if the Tare key was pressed on the
scale, and it answers net weights without saying so (the protocol cannot).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

from peripherals.fakes.pty_device import PtyDevice
from peripherals.scale import ScaleProtocol
from peripherals.scale_codec import (
    NCI_TARE,
    NCI_WEIGHT,
    NCI_ZERO,
    TOLEDO_WEIGHT,
    TOLEDO_ZERO,
    ScaleReading,
    WeightState,
    encode_cas_frame,
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
        self.tare = 0
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
            stable = self.reading.state is WeightState.STABLE
            if command in (TOLEDO_ZERO, NCI_ZERO) and stable and not self.tare:
                self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
            if command == NCI_TARE and self.protocol == "nci" and stable and self.reading.grams is not None:
                self.tare = max(self.reading.grams, 0)  # an empty plate clears the tare
            encode = encode_toledo_answer if self.protocol == "toledo8217" else encode_nci_answer
            self._answer(command, encode(command, self._net(self._plate(command)), self.unit))
        return pending

    def _net(self, gross: ScaleReading) -> ScaleReading:
        """What the scale shows with its own tare taken off: negative net weights read under zero."""
        if not self.tare or gross.grams is None:
            return gross
        net = gross.grams - self.tare
        if net < 0 and gross.state in (WeightState.STABLE, WeightState.IN_MOTION):
            return ScaleReading(WeightState.UNDER_ZERO, None, net=self.protocol == "nci")
        return replace(gross, grams=net, at_zero=net == 0, net=self.protocol == "nci")

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


class FakeCasScale(PtyDevice):
    """A CAS indicator in stream mode: sends ``reading`` as one CAS line after another, unasked.

    ``device_id=None`` sends the 18-byte form, else the 22-byte form with that device number.
    ``interval_s`` is the pause between two lines (on top of their time on the line); ``mute``
    stops sending (switched off). Lines nobody reads are dropped, as on a real cable.
    """

    def __init__(
        self, unit: str = "kg", *, device_id: int | None = 1, interval_s: float = 0.02, line_timing: bool = True
    ) -> None:
        self.unit = unit
        self.device_id = device_id
        self.interval_s = interval_s
        self.reading = ScaleReading(WeightState.STABLE, 0, at_zero=True)
        self.mute = False
        self._stopped = threading.Event()
        super().__init__("fake-cas-scale", line_timing=line_timing)
        os.set_blocking(self._master, False)  # a full buffer (nobody reading) drops a line, never blocks
        self._sender = threading.Thread(target=self._stream, name=f"fake-cas-stream-{self.device}", daemon=True)
        self._sender.start()

    def close(self) -> None:
        self._stopped.set()
        self._sender.join(timeout=5)
        super().close()

    def _handle(self, pending: bytes) -> bytes:
        return b""  # a stream-mode indicator takes no commands

    def _stream(self) -> None:
        while not self._stopped.wait(self.interval_s):
            if not self.mute:
                self._answer(b"", encode_cas_frame(self.reading, self.unit, self.device_id))
