"""Checkout scale protocols as pure codecs: Mettler Toledo 8217 and NCI (Weigh-Tronix SCP-01).

Weights come out as integer grams (DESIGN.md §2), converted from the scale's text with
``Decimal`` and ``ROUND_HALF_EVEN``; never ``float``.

**Toledo 8217** (also 8213/PS60-compatible scales). Host sends one character, no terminator:
``W`` weight, ``S`` status, ``Z`` zero. Answers are ``STX ... CR``:

* valid weight: ``02 "01.234" 0D`` (kg, 3 decimals; the protocol carries no unit, so the lane is
  configured with it);
* no valid weight, and every ``S``/``Z`` answer: ``02 "?" s 0D`` with status byte ``s``: bit 0 in
  motion, bit 1 over capacity, bit 2 under zero, bit 3 outside zero capture range, bit 4 at
  centre of zero, bits 5 and 6 always 1, bit 7 parity (masked off).

**NCI SCP-01**. Host sends ``W CR``, ``S CR``, ``Z CR``. Answers end in ``CR ETX``:

* weight: ``LF "0001.234kg" CR LF hh CR ETX``;
* status (``S``, ``Z``, ``T`` tare): ``LF hh CR ETX``; unknown command: ``LF "?" CR ETX``.

Status byte 1: bit 0 in motion, bit 1 at zero, bit 2 RAM error, bit 3 EEPROM error. Byte 2:
bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3 calibration fault, bit 6 another
byte follows. Optional byte 3: bits 0-1 range (00 low, 11 high), bit 2 net weight (0 gross),
bit 3 initial zero error. Bits 4 and 5 are always 1, bit 7 is parity (masked off).

**CAS** indicators (CI-series, PDI, NT-200 manuals, "CAS 22 bytes" / "AND 18 bytes") send a line
by themselves, continuously in stream mode; the host sends nothing:

* 22 bytes: ``"ST" "," "GS" "," id lamp "," data(8) " " unit(2) CR LF``;
* 18 bytes: ``"ST" "," "GS" "," data(8) unit(2) CR LF`` (e.g. ``ST,GS,+  0.534kg``).

``ST`` stable, ``US`` unstable, ``OL`` overload; ``GS`` gross, ``NT`` net; ``id`` the device
number as ASCII (``"1"`` = 0x31); ``lamp`` bit 0 zero point, 1 tare, 2 gross, 3 printer,
4 hold, 6 stable, 7 always 1. ``data`` is the displayed weight with its decimal point
(``"000013.5"``), a minus sign when negative.

**Tare.** NCI scales tare on ``T CR`` and flag a net weight in status byte 3. The Toledo 8217
ECR protocol has no tare command and no net/gross flag: a tare keyed on the scale is invisible to
us, so the lane subtracts a *preset* tare itself (``apply_tare``), never below zero.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

STX, ETX, LF, CR = b"\x02", b"\x03", b"\n", b"\r"

TOLEDO_WEIGHT, TOLEDO_STATUS, TOLEDO_ZERO = b"W", b"S", b"Z"
NCI_WEIGHT, NCI_STATUS, NCI_ZERO, NCI_TARE = b"W\r", b"S\r", b"Z\r", b"T\r"

GRAMS_PER_UNIT = {"kg": Decimal(1000), "g": Decimal(1), "lb": Decimal("453.59237"), "oz": Decimal("28.349523125")}


class ScaleError(ValueError):
    """A frame that is not of the protocol (garbled line, wrong settings); the device turns it into a sentence."""


class WeightState(enum.Enum):
    STABLE = "stable"
    IN_MOTION = "in motion"
    UNDER_ZERO = "under zero"
    OVER_CAPACITY = "over capacity"
    ERROR = "error"
    BELOW_TARE = "below tare"  # stable, but lighter than the preset tare: the item is not on the scale yet


@dataclass(frozen=True, slots=True)
class ScaleReading:
    """What the scale said. ``grams`` is None when it gave no weight (status only, or invalid).

    ``net`` says ``grams`` is net of a tare: the scale's own (NCI status byte 3) or the preset
    ``tare_grams`` the lane subtracted (``apply_tare``).
    """

    state: WeightState
    grams: int | None = None
    at_zero: bool = False
    net: bool = False
    tare_grams: int = 0

    @property
    def sellable(self) -> bool:
        """A weight may be charged only when stable and above zero (legal for trade)."""
        return self.state is WeightState.STABLE and self.grams is not None and self.grams > 0


def apply_tare(reading: ScaleReading, tare_grams: int) -> ScaleReading:
    """``reading`` net of a preset tare (a container's weight): gross - tare, never negative.

    A stable weight lighter than the tare becomes ``BELOW_TARE`` without grams; a reading that is
    not stable keeps its state (and its net grams, floored at zero, for the screen only).

    Raises:
        ScaleError: ``tare_grams`` is not a whole number of grams from 0 up.
    """
    if type(tare_grams) is not int or tare_grams < 0:
        raise ScaleError(f"a tare must be whole grams from 0 up, not {tare_grams!r}")
    if tare_grams == 0 or reading.grams is None:
        return replace(reading, tare_grams=tare_grams, net=reading.net or tare_grams > 0)
    net = reading.grams - tare_grams
    if net < 0 and reading.state is WeightState.STABLE:
        return ScaleReading(WeightState.BELOW_TARE, None, reading.at_zero, net=True, tare_grams=tare_grams)
    return replace(reading, grams=max(net, 0), net=True, tare_grams=tare_grams)


def to_grams(text: str, unit: str) -> int:
    """``"01.234"`` kg -> 1234. Raises ScaleError for text that is not a plain decimal."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ScaleError(f"not a weight: {text!r}") from exc
    if not value.is_finite():
        raise ScaleError(f"not a weight: {text!r}")
    factor = GRAMS_PER_UNIT.get(unit.lower())
    if factor is None:
        raise ScaleError(f"unknown unit {unit!r}")
    return int((value * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_grams(grams: int, unit: str, decimals: int) -> str:
    """1234 g in kg with 3 decimals -> ``"1.234"`` (for fakes and tests)."""
    value = (Decimal(grams) / GRAMS_PER_UNIT[unit]).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{value:.{decimals}f}"


# -- Toledo 8217 -------------------------------------------------------------------------------


def decode_toledo(frame: bytes, unit: str = "kg") -> ScaleReading:
    """Decode one ``STX ... CR`` answer.

    Raises:
        ScaleError: the frame is not a Toledo answer.
    """
    body = bytes(b & 0x7F for b in frame).strip(b"\x02\r\n")
    if not body:
        raise ScaleError(f"empty Toledo frame {frame!r}")
    if body[:1] == b"?":
        if len(body) < 2:
            raise ScaleError(f"Toledo status frame without status: {frame!r}")
        return _toledo_status(body[1])
    return ScaleReading(WeightState.STABLE, to_grams(body.decode("ascii", "replace"), unit))


def _toledo_status(s: int) -> ScaleReading:
    if s & 0x60 != 0x60:
        raise ScaleError(f"not a Toledo status byte: {s:#04x}")
    state = _state(over=bool(s & 0x02), under=bool(s & 0x04), motion=bool(s & 0x01))
    return ScaleReading(state, None, at_zero=bool(s & 0x10))


def _state(*, over: bool, under: bool, motion: bool, error: bool = False) -> WeightState:
    """The one state to show when several flags are up, worst first."""
    if error:
        return WeightState.ERROR
    if over:
        return WeightState.OVER_CAPACITY
    if under:
        return WeightState.UNDER_ZERO
    return WeightState.IN_MOTION if motion else WeightState.STABLE


def toledo_status_byte(state: WeightState, at_zero: bool = False) -> int:
    """The status byte a Toledo scale sends for ``state`` (for fakes and tests)."""
    bits = {WeightState.IN_MOTION: 0x01, WeightState.OVER_CAPACITY: 0x02, WeightState.UNDER_ZERO: 0x04}
    return 0x60 | bits.get(state, 0) | (0x10 if at_zero else 0)


def encode_toledo_answer(command: bytes, reading: ScaleReading, unit: str = "kg") -> bytes:
    """What a Toledo 8217 answers to ``command`` when it reads ``reading`` (for the fake scale)."""
    if command == TOLEDO_WEIGHT and reading.state is WeightState.STABLE and reading.grams is not None:
        return STX + from_grams(reading.grams, unit, 3 if unit == "kg" else 2).zfill(6).encode() + CR
    return STX + b"?" + bytes([toledo_status_byte(reading.state, reading.at_zero)]) + CR


# -- CAS stream -------------------------------------------------------------------------------

CAS_FRAME_LENGTHS = (22, 18)
_CAS_HEAD = re.compile(rb"^(ST|US|OL),(GS|NT),")


def decode_cas(frame: bytes) -> ScaleReading:
    """Decode one CAS line (22-byte or 18-byte form, ``CR LF`` optional).

    Raises:
        ScaleError: the line is not a CAS frame (cut off, noise, unknown unit).
    """
    body = frame.rstrip(b"\r\n")
    head = _CAS_HEAD.match(body)
    if head is None:
        raise ScaleError(f"not a CAS frame: {frame!r}")
    if len(body) == 20 and body[8:9] == b",":  # with device id and lamp byte
        data, unit, lamp = body[9:17], body[17:20], body[7]
    elif len(body) == 16:
        data, unit, lamp = body[6:14], body[14:16], None
    else:
        raise ScaleError(f"CAS frame of {len(frame)} bytes: {frame!r}")
    net = head.group(2) == b"NT"
    if head.group(1) == b"OL":
        return ScaleReading(WeightState.OVER_CAPACITY, net=net)
    text = data.decode("ascii", "replace").replace(" ", "")
    grams = to_grams(text, unit.decode("ascii", "replace").strip())
    at_zero = bool(lamp & 0x01) if lamp is not None else grams == 0
    if grams < 0:
        return ScaleReading(WeightState.UNDER_ZERO, None, at_zero, net=net)
    state = WeightState.STABLE if head.group(1) == b"ST" else WeightState.IN_MOTION
    return ScaleReading(state, grams, at_zero, net=net)


def encode_cas_frame(reading: ScaleReading, unit: str = "kg", device_id: int | None = 1) -> bytes:
    """The line a CAS indicator sends for ``reading``: 22 bytes, or 18 without ``device_id`` (for fakes and tests)."""
    stable = reading.state is WeightState.STABLE
    status = {WeightState.OVER_CAPACITY: b"OL", WeightState.STABLE: b"ST"}.get(reading.state, b"US")
    grams = reading.grams or 0
    if reading.state is WeightState.UNDER_ZERO and grams >= 0:
        grams = -1
    figures = from_grams(abs(grams), unit, 3 if unit in ("kg", "lb") else 0)
    head = status + b"," + (b"NT" if reading.net else b"GS") + b","
    if device_id is None:
        data = (("-" if grams < 0 else "+") + figures.rjust(7)).encode()
        return head + data + unit.encode().rjust(2) + CR + LF
    data = (("-" + figures.zfill(7)) if grams < 0 else figures.zfill(8)).encode()
    lamp = 0x80 | (0x40 if stable else 0) | (0x02 if reading.net else 0x04) | (0x01 if reading.at_zero else 0)
    return head + str(device_id).encode()[:1] + bytes([lamp]) + b"," + data + b" " + unit.encode().rjust(2) + CR + LF


# -- NCI SCP-01 --------------------------------------------------------------------------------

_NCI_WEIGHT = re.compile(r"^\s*(-?\s*\d+(?:\.\d+)?)\s*([A-Za-z]{1,2})\s*$")


def decode_nci(frame: bytes) -> ScaleReading:
    """Decode one ``LF ... CR ETX`` answer.

    Raises:
        ScaleError: the frame is not an NCI answer, or the scale did not know the command.
    """
    text = bytes(b & 0x7F for b in frame).decode("ascii", "replace")
    parts = [p.strip("\n") for p in text.rstrip("\x03").split("\r") if p.strip("\n")]
    if not parts or parts == ["?"]:
        raise ScaleError(f"NCI scale did not understand the command: {frame!r}")
    status = parts[-1].removeprefix("S")  # SCP-02 scales prefix the status bytes with "S"
    reading = _nci_status(status)
    if len(parts) == 1 or (reading.state is not WeightState.STABLE and reading.state is not WeightState.IN_MOTION):
        return reading
    match = _NCI_WEIGHT.match(parts[0])
    if not match:
        raise ScaleError(f"NCI weight line not understood: {parts[0]!r}")
    return replace(reading, grams=to_grams(match.group(1).replace(" ", ""), match.group(2)))


def _nci_status(status: str) -> ScaleReading:
    if len(status) < 2 or any(ord(c) & 0x30 != 0x30 for c in status[:3]):
        raise ScaleError(f"NCI status not understood: {status!r}")
    b1, b2 = ord(status[0]), ord(status[1])
    b3 = ord(status[2]) if len(status) > 2 else 0x30  # optional: range, net/gross, initial zero error
    error = bool(b1 & 0x0C or b2 & 0x0C or b3 & 0x08)  # RAM/EEPROM, ROM/calibration, initial zero
    state = _state(over=bool(b2 & 0x02), under=bool(b2 & 0x01), motion=bool(b1 & 0x01), error=error)
    return ScaleReading(state, None, at_zero=bool(b1 & 0x02), net=bool(b3 & 0x04))


def nci_status_bytes(state: WeightState, at_zero: bool = False, net: bool = False) -> bytes:
    """The status bytes an NCI scale sends for ``state``: two, or three for a net weight (for fakes and tests)."""
    b1 = 0x30 | (0x01 if state is WeightState.IN_MOTION else 0) | (0x02 if at_zero else 0)
    b1 |= 0x04 if state is WeightState.ERROR else 0
    b2 = 0x30 | {WeightState.UNDER_ZERO: 0x01, WeightState.OVER_CAPACITY: 0x02}.get(state, 0)
    if net:
        return bytes([b1, b2 | 0x40, 0x34])  # byte 3 follows: low range, net weight
    return bytes([b1, b2])


def encode_nci_answer(command: bytes, reading: ScaleReading, unit: str = "kg") -> bytes:
    """What an NCI scale answers to ``command`` when it reads ``reading`` (for the fake scale)."""
    status = LF + nci_status_bytes(reading.state, reading.at_zero, reading.net) + CR + ETX
    if command == NCI_WEIGHT:
        if reading.grams is None or reading.state not in (WeightState.STABLE, WeightState.IN_MOTION):
            return status
        weight = from_grams(reading.grams, unit, 3 if unit == "kg" else 2).zfill(8 if unit == "kg" else 7)
        return LF + weight.encode() + unit.encode() + CR + status
    if command in (NCI_STATUS, NCI_ZERO, NCI_TARE):
        return status
    return LF + b"?" + CR + ETX
