"""A barcode scanner on a serial port: the device model + a reader thread + ``scanner_codec``.

Unlike the devices the register asks, a scanner speaks when it likes, so ``SerialScanner`` keeps
its port open and reads it on its own thread (``device-scanner``) from ``claim()`` to
``release()``/``close()``. Each code becomes a ``DATA`` event carrying a ``Scan`` while the
device is enabled; a garbled or over-long line is dropped and becomes an ``ERROR`` event. A port
that vanishes (USB scanner unplugged) turns the health ``OFF`` with one sentence; the thread
keeps trying to open it again every ``reopen_s`` and the health returns to ``ONLINE`` when it is
back. Listeners run on the reader thread: hop to your own before touching widgets.
"""

from __future__ import annotations

import logging
import threading

import serial

from peripherals.device import Device
from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.printer_status import Health
from peripherals.scanner_codec import TERMINATORS, BadLine, ScanFramer, ScannerFraming, Terminator
from peripherals.targets import parse_target
from peripherals.transport import SerialTransport
from peripherals.wedge import Scan

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
"""How long one read waits: also how soon ``close()`` stops the thread."""
BACK_BY_ITSELF = " Scanning works again as soon as it is back."


class SerialScanner(Device):
    """A serial scanner: ``open`` → ``claim`` (port opened, read on its thread) → ``enable`` (scans delivered)."""

    def __init__(
        self,
        transport: SerialTransport,
        framing: ScannerFraming = ScannerFraming(),  # noqa: B008 -- frozen
        *,
        reopen_s: float = 1.0,
        name: str = "scanner",
    ) -> None:
        super().__init__(name)
        self.transport = transport
        self.framing = framing
        self.reopen_s = reopen_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"{self.name} {self.transport.describe()}"

    # -- life cycle: the reader runs while claimed -----------------------------------------------
    def claim(self) -> None:
        super().claim()
        self._stop.clear()
        self._thread = threading.Thread(target=self._read_loop, name=f"device-{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop_reading()
        super().release()

    def close(self) -> None:
        self._stop_reading()
        super().close()

    def _stop_reading(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # -- the reader thread ---------------------------------------------------------------------
    def _read_loop(self) -> None:
        framer = ScanFramer(self.framing)
        port: serial.SerialBase | None = None
        lost = False  # said once per outage, not once per retry
        try:
            while not self._stop.is_set():
                if port is None:
                    try:
                        port = self._open()
                    except DeviceUnavailable as exc:
                        if not lost:
                            self.report_failure(exc)
                            lost = True
                        self._stop.wait(self.reopen_s)
                        continue
                    lost = False
                    log.info("%s: reading", self.describe())
                    self.set_health(Health.ONLINE)
                try:
                    chunk = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError) as exc:
                    log.info("%s: port lost: %s", self.describe(), exc)
                    _close_quietly(port)
                    port, lost = None, True
                    framer.reset()  # the rest of a line cut by the unplug never comes
                    self.report_failure(
                        DeviceUnavailable(f"The {self.describe()} was disconnected; check its cable.{BACK_BY_ITSELF}")
                    )
                    continue
                if chunk:
                    self._take(framer.feed(chunk))
        finally:
            if port is not None:
                _close_quietly(port)

    def _open(self) -> serial.SerialBase:
        try:
            return self.transport.open_port(READ_TIMEOUT_S)
        except DeviceUnavailable as exc:
            raise DeviceUnavailable(f"{exc}{BACK_BY_ITSELF}") from exc.__cause__

    def _take(self, items: list[Scan | BadLine]) -> None:
        for item in items:
            if isinstance(item, Scan):
                self.deliver(f"{item.data} ({item.symbology})" if item.symbology else item.data, item)
                continue
            log.warning("%s: dropped a line (%s), starting %r", self.describe(), item.reason, item.start)
            ending = {"cr": "CR", "lf": "LF", "crlf": "CR LF"}[self.framing.terminator]
            self.report_failure(
                PeripheralError(
                    f"The {self.describe()} sent a code we cannot read ({item.reason}); scan it again, "
                    f"and if it happens often check the scanner's speed and that it ends codes with {ending}."
                )
            )


def _close_quietly(port: serial.SerialBase) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError):
        log.debug("closing a lost port failed", exc_info=True)


def open_scanner(
    target: str, terminator: str = "cr", prefix: str = "", suffix: str = "", *, reopen_s: float = 1.0
) -> SerialScanner:
    """A scanner at ``serial:DEVICE[?baudrate=N]``, opened (not claimed: the port is not touched yet).

    Raises:
        ConfigurationError: not a serial target, or an unknown terminator.
    """
    transport = parse_target(target, device="scanner")
    if not isinstance(transport, SerialTransport):
        raise ConfigurationError(
            f"The scanner address {target!r} must be a serial port: serial:DEVICE[?baudrate=N]. "
            "A USB scanner that types (keyboard wedge) needs no setting."
        )
    if terminator not in TERMINATORS:
        raise ConfigurationError(f"The scanner terminator {terminator!r} is not known; use cr, lf or crlf.")
    ending: Terminator = "cr" if terminator == "cr" else "lf" if terminator == "lf" else "crlf"
    framing = ScannerFraming(ending, prefix.encode("utf-8"), suffix.encode("utf-8"))
    scanner = SerialScanner(transport, framing, reopen_s=reopen_s)
    scanner.open()
    return scanner
