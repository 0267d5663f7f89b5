"""The checkout scale: a serial transport + the Toledo 8217, NCI or CAS codec.

Every call asks the scale and waits for its answer (1 s by default): run it on the scale's
``DeviceWorker``. A scale that does not answer, or answers in another protocol, raises
``DeviceUnavailable`` with a sentence; a weight that may not be charged (in motion, under zero,
over capacity, below the item's tare) is a normal ``ScaleReading`` whose ``sellable`` is False.

Tare: ``tare()`` sends NCI's ``T`` (the scale then reports net weights and says so). Toledo 8217
has no tare command, so an item's container is subtracted as a preset tare:
``read_weight(tare_grams=...)``. See docs/peripherals.md, "Tare".

A CAS indicator is not asked: it streams its weight line continuously, so each call reads what
it is sending (two frames' worth, keeping the last whole line); zero and tare are its own keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.scale_codec import (
    CAS_FRAME_LENGTHS,
    CR,
    ETX,
    GRAMS_PER_UNIT,
    LF,
    NCI_STATUS,
    NCI_TARE,
    NCI_WEIGHT,
    NCI_ZERO,
    TOLEDO_STATUS,
    TOLEDO_WEIGHT,
    TOLEDO_ZERO,
    ScaleError,
    ScaleReading,
    apply_tare,
    decode_cas,
    decode_nci,
    decode_toledo,
)
from peripherals.targets import parse_target
from peripherals.transport import SerialTransport

log = logging.getLogger(__name__)

ScaleProtocol = Literal["toledo8217", "nci", "cas"]
PROTOCOL_NAMES: dict[ScaleProtocol, str] = {"toledo8217": "Toledo 8217", "nci": "NCI", "cas": "CAS stream"}


@dataclass(frozen=True, slots=True)
class _Dialect:
    weight: bytes
    status: bytes
    zero: bytes | None  # None: the protocol has no such command
    tare: bytes | None
    terminator: bytes
    decode: Callable[[bytes, str], ScaleReading]
    streaming: bool = False  # the scale sends by itself; nothing is asked


_DIALECTS: dict[ScaleProtocol, _Dialect] = {
    "toledo8217": _Dialect(TOLEDO_WEIGHT, TOLEDO_STATUS, TOLEDO_ZERO, None, CR, decode_toledo),
    "nci": _Dialect(NCI_WEIGHT, NCI_STATUS, NCI_ZERO, NCI_TARE, ETX, lambda frame, _unit: decode_nci(frame)),
    "cas": _Dialect(b"", b"", None, None, LF, lambda frame, _unit: decode_cas(frame), streaming=True),
}


class Scale:
    """A scale on a serial port speaking ``protocol``; Toledo weights are read in ``unit``."""

    def __init__(
        self, transport: SerialTransport, protocol: ScaleProtocol, unit: str = "kg", timeout: float = 1.0
    ) -> None:
        if protocol not in _DIALECTS:
            raise ConfigurationError(f"The scale protocol {protocol!r} is not supported; use toledo8217, nci or cas.")
        if unit not in GRAMS_PER_UNIT:
            raise ConfigurationError(f"The scale unit {unit!r} is not supported; use kg, g, lb or oz.")
        self.transport = transport
        self.protocol = protocol
        self.unit = unit
        self.timeout = timeout
        self._dialect = _DIALECTS[protocol]

    def describe(self) -> str:
        return f"scale {self.transport.describe()} ({PROTOCOL_NAMES[self.protocol]})"

    def read_weight(self, tare_grams: int = 0) -> ScaleReading:
        """The weight on the plate, net of ``tare_grams`` (the item's container); check ``sellable``.

        A stable weight lighter than the tare reads ``BELOW_TARE``; the net weight is never negative.

        Raises:
            ConfigurationError: ``tare_grams`` is not whole grams from 0 up.
            PeripheralError: a preset tare while the scale itself is tared (it would count twice).
            DeviceUnavailable: the scale does not answer, or not in its protocol.
        """
        if type(tare_grams) is not int or tare_grams < 0:
            raise ConfigurationError(f"A tare must be a whole number of grams from 0 up, not {tare_grams!r}.")
        reading = self._ask(self._dialect.weight)
        if tare_grams and reading.net:
            raise PeripheralError(
                f"The {self.describe()} is tared itself, so the {tare_grams} g container would be "
                "taken off twice; clear the tare on the scale (empty plate, then Tare) and weigh again."
            )
        return apply_tare(reading, tare_grams) if tare_grams else reading

    def tare(self) -> ScaleReading:
        """Tare the scale with what is on it (NCI ``T``); weights read after it are net.

        Raises:
            ConfigurationError: the protocol has no tare command (Toledo 8217): press Tare on the
                scale, or give the item a preset tare.
            DeviceUnavailable: the scale does not answer.
        """
        if self._dialect.tare is None:
            raise ConfigurationError(
                f"The {PROTOCOL_NAMES[self.protocol]} protocol has no tare command; press Tare on the scale "
                "itself, or give the item a preset tare."
            )
        return self._ask(self._dialect.tare)

    def status(self) -> ScaleReading:
        return self._ask(self._dialect.status)

    def zero(self) -> ScaleReading:
        """Zero the empty plate; the scale refuses while in motion (see the returned state).

        Raises:
            ConfigurationError: the protocol has no zero command (CAS stream): press Zero on the scale.
        """
        if self._dialect.zero is None:
            raise ConfigurationError(
                f"The {PROTOCOL_NAMES[self.protocol]} protocol has no zero command; press Zero on the scale itself."
            )
        return self._ask(self._dialect.zero)

    def _ask(self, command: bytes) -> ScaleReading:
        if self._dialect.streaming:
            return self._decode(command, self._listen())
        frame = self.transport.exchange_until(command, self._dialect.terminator, self.timeout)
        if not frame.endswith(self._dialect.terminator):
            log.info("%s: no answer to %r (got %r)", self.describe(), command, frame)
            raise DeviceUnavailable(
                f"The scale {self.transport.describe()} does not answer; check it is on and its cable is in."
            )
        return self._decode(command, frame)

    def _listen(self) -> bytes:
        """The last whole line of what a streaming scale sends: two frames' worth always holds one."""
        heard = self.transport.exchange(b"", 2 * max(CAS_FRAME_LENGTHS), self.timeout)
        lines = heard.split(LF)[1:-1]  # the first piece may be cut, the last is unfinished
        if not lines:
            log.info("%s: no whole line in %r", self.describe(), heard)
            raise DeviceUnavailable(
                f"The scale {self.transport.describe()} sends nothing; check it is on, its cable is in and it "
                "is set to send its weight continuously (stream mode)."
            )
        return lines[-1] + LF

    def _decode(self, command: bytes, frame: bytes) -> ScaleReading:
        try:
            reading = self._dialect.decode(frame, self.unit)
        except ScaleError as exc:
            log.warning("%s: unreadable answer %r: %s", self.describe(), frame, exc)
            raise DeviceUnavailable(
                f"The scale {self.transport.describe()} answers in a way we cannot read; "
                f"check it is set to the {PROTOCOL_NAMES[self.protocol]} protocol."
            ) from exc
        log.debug("%s: %r -> %s", self.describe(), command, reading)
        return reading


def open_scale(target: str, protocol: ScaleProtocol, unit: str = "kg", timeout: float = 1.0) -> Scale:
    """A scale at ``serial:DEVICE[?baudrate=N]``. Nothing is contacted yet.

    Raises:
        ConfigurationError: not a serial target, or an unknown protocol or unit.
    """
    transport = parse_target(target, device="scale")
    if not isinstance(transport, SerialTransport):
        raise ConfigurationError(f"The scale address {target!r} must be a serial port: serial:DEVICE[?baudrate=N].")
    return Scale(transport, protocol, unit, timeout)
