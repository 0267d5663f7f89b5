"""Serial barcode scanner frames as a pure codec: bytes in, ``Scan``s (or bad lines) out.

A serial scanner sends each code as one line: an optional prefix, an optional AIM symbology
identifier (``]E0``), the data, an optional suffix, and a terminator (CR, LF or CR LF, set on the
scanner). Reads from a port end anywhere, so ``ScanFramer`` keeps a partial line until its
terminator arrives. A line that cannot be a barcode (bytes that are not text, control characters)
or grows past ``max_length`` without a terminator (a wrong baud rate, a scanner set to another
terminator) is dropped and reported as a ``BadLine``, so one noisy moment never rings anything up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from peripherals.wedge import Scan, parse_scan

Terminator = Literal["cr", "lf", "crlf"]
TERMINATORS: dict[Terminator, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
GS1_SEPARATOR = "\x1d"
"""GS: the one control character allowed in data (GS1-128 / GS1 DataMatrix field separator)."""


@dataclass(frozen=True, slots=True)
class ScannerFraming:
    """How this lane's scanner frames a code; prefix and suffix are stripped when present."""

    terminator: Terminator = "cr"
    prefix: bytes = b""
    suffix: bytes = b""
    max_length: int = 512
    """Longest line kept waiting for its terminator: far above retail symbols (GS1-128 carries
    at most 48 characters), enough for a QR code with a long web address."""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A dropped line: ``reason`` is ``"unreadable"`` or ``"too long"``; ``start`` its first bytes, for the log."""

    reason: str
    start: bytes


def decode_line(line: bytes, framing: ScannerFraming) -> Scan | BadLine | None:
    """One line without its terminator; None for an empty line (a stray CR or LF)."""
    body = line.strip(b"\r\n")  # the other half of CR LF when the scanner sends both
    if not body:
        return None
    if framing.prefix and body.startswith(framing.prefix):
        body = body[len(framing.prefix) :]
    if framing.suffix and body.endswith(framing.suffix):
        body = body[: -len(framing.suffix)]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return BadLine("unreadable", line[:32])
    scan = parse_scan(text)
    if not scan.data or not all(ch.isprintable() or ch == GS1_SEPARATOR for ch in scan.data):
        return BadLine("unreadable", line[:32])
    return scan


def encode_scan(data: str, aim_id: str | None = None, framing: ScannerFraming = ScannerFraming()) -> bytes:
    """The bytes a scanner set to ``framing`` sends for ``data`` (for the fake scanner and tests)."""
    return framing.prefix + ((aim_id or "") + data).encode("utf-8") + framing.suffix + TERMINATORS[framing.terminator]


class ScanFramer:
    """Cuts a byte stream into lines; ``feed`` returns what each completed line was."""

    def __init__(self, framing: ScannerFraming = ScannerFraming()) -> None:
        self.framing = framing
        self._terminator = TERMINATORS[framing.terminator]
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line already reported: drop up to its end

    @property
    def pending(self) -> bytes:
        """The partial line waiting for its terminator."""
        return bytes(self._buffer)

    def reset(self) -> None:
        """Forget a partial line (the port was lost: its end will never come)."""
        self._buffer.clear()
        self._skipping = False

    def feed(self, chunk: bytes) -> list[Scan | BadLine]:
        self._buffer += chunk
        found: list[Scan | BadLine] = []
        while (end := self._buffer.find(self._terminator)) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + len(self._terminator)]
            if self._skipping:
                self._skipping = False
                continue
            if len(line) > self.framing.max_length:
                found.append(BadLine("too long", line[:32]))
                continue
            item = decode_line(line, self.framing)
            if item is not None:
                found.append(item)
        if len(self._buffer) > self.framing.max_length:
            if not self._skipping:
                found.append(BadLine("too long", bytes(self._buffer[:32])))
            keep = len(self._terminator) - 1  # the CR of a CR LF split across reads
            del self._buffer[: len(self._buffer) - keep]
            self._skipping = True
        return found
