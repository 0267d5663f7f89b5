"""A serial barcode scanner on a pseudo-terminal that can be unplugged and plugged back, for tests and demos.

Open ``serial:{fake.device}``: a stable path (a symbolic link, like ``/dev/serial/by-id/...``)
to the current pty. ``scan(data, aim_id)`` sends one code framed as the scanner is set
(``framing``), ``send(raw)`` sends any bytes (half a frame, noise). Bytes take as long as on a
real line at the speed the host set (``line_timing``; see ``pty_device``). ``unplug()`` makes the
port vanish: the pty is hung up, so the host's reads fail, and the path is gone; ``replug()``
brings a fresh pty back at the same path. POSIX only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Self

from peripherals.fakes.pty_device import PtyDevice
from peripherals.scanner_codec import ScannerFraming, encode_scan


class _ScannerPort(PtyDevice):
    """One plugged-in spell of the scanner: a pty whose host bytes are kept (scanners take none)."""

    def __init__(self, *, line_timing: bool) -> None:
        self.received = bytearray()
        super().__init__("fake-scanner", line_timing=line_timing)

    def _handle(self, pending: bytes) -> bytes:
        with self._lock:
            self.received += pending
        return b""

    def send(self, data: bytes) -> None:
        self._answer(b"", data)


class FakeSerialScanner:
    def __init__(self, framing: ScannerFraming = ScannerFraming(), *, line_timing: bool = True) -> None:  # noqa: B008 -- frozen
        self.framing = framing
        self.line_timing = line_timing
        self._folder = Path(tempfile.mkdtemp(prefix="fake-scanner-"))
        self.device = str(self._folder / "ttyACM0")
        self._port: _ScannerPort | None = None
        self._lock = threading.Lock()
        self.replug()

    @property
    def plugged(self) -> bool:
        return self._port is not None

    def scan(self, data: str, aim_id: str | None = None) -> None:
        """Send ``data`` as the scanner would after reading a barcode (AIM identifier first if given)."""
        self.send(encode_scan(data, aim_id, self.framing))

    def send(self, raw: bytes) -> None:
        """Send ``raw`` as it is: part of a frame, several frames, noise.

        Raises:
            RuntimeError: the scanner is unplugged.
        """
        port = self._port
        if port is None:
            raise RuntimeError("the fake scanner is unplugged")
        port.send(raw)

    def unplug(self) -> None:
        with self._lock:
            port, self._port = self._port, None
            if port is None:
                return
            os.unlink(self.device)
            port.close()

    def replug(self) -> None:
        with self._lock:
            if self._port is not None:
                return
            port = _ScannerPort(line_timing=self.line_timing)
            os.symlink(port.device, self.device)
            self._port = port

    def close(self) -> None:
        self.unplug()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
