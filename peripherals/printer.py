"""The receipt printer: ESC/POS codec + a transport, chosen by a target string.

Targets::

    file:PATH                      append each job to PATH (demo, tests, a receipt viewer)
    tcp:HOST[:PORT]                network printer, raw port 9100 by default
    serial:DEVICE[?baudrate=N&rtscts=1]   serial or USB-serial printer (9600 baud default)
    usb:VID:PID[?interface=N&in_ep=..&out_ep=..]   USB printer through pyusb/libusb
    cups:QUEUE                     a CUPS queue, raw jobs through ``lp -o raw``

Every method blocks until the printer took the bytes or a timeout passed; call them through a
``DeviceWorker``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from peripherals.errors import DeviceClosed, DeviceUnavailable
from peripherals.escpos_codec import DEFAULT_FORMAT, ReceiptFormat, drawer_kick, encode_receipt
from peripherals.printer_status import STATUS_QUERIES, STATUS_REQUEST, Health, PrinterStatus, decode_status
from peripherals.targets import parse_target
from peripherals.transport import Transport
from pos_core.receipt import ReceiptRow

log = logging.getLogger(__name__)


class ReceiptPrinter:
    """Prints laid-out receipts and kicks the cash drawer wired to the printer."""

    def __init__(
        self,
        transport: Transport,
        fmt: ReceiptFormat = DEFAULT_FORMAT,
        *,
        pulse_on_ms: int = 100,
        pulse_off_ms: int = 100,
        drawer_open_when_high: bool = False,
    ) -> None:
        drawer_kick(2, pulse_on_ms, pulse_off_ms)  # reject a bad pulse now, not at the first sale
        self.transport = transport
        self.format = fmt
        self.pulse_on_ms = pulse_on_ms
        self.pulse_off_ms = pulse_off_ms
        self.drawer_open_when_high = drawer_open_when_high
        self._closed = False

    def describe(self) -> str:
        """``"receipt printer at 127.0.0.1:9100"``: for settings screens and logs."""
        return f"receipt printer {self.transport.describe()}"

    def print_receipt(self, rows: Sequence[ReceiptRow], *, open_drawer: bool = False, pin: int = 2) -> None:
        """Print ``rows`` as one job ending in a cut; with ``open_drawer`` the drawer opens in the same job.

        Raises:
            ConfigurationError: ``pin`` is not 2 or 5.
            DeviceUnavailable: the printer could not be reached or stopped taking data.
            DeviceClosed: ``close()`` was called.
        """
        self._check_open()
        kick = drawer_kick(pin, self.pulse_on_ms, self.pulse_off_ms) if open_drawer else b""
        data = encode_receipt(rows, self.format, kick=kick)
        self.transport.send(data)
        log.info("printed %d rows (%d bytes) on %s", len(rows), len(data), self.describe())

    def kick_drawer(self, pin: int = 2) -> None:
        """Open the cash drawer connected to the printer's drawer port.

        Raises:
            ConfigurationError: ``pin`` is not 2 or 5.
            DeviceUnavailable: the printer could not be reached.
            DeviceClosed: ``close()`` was called.
        """
        self._check_open()
        self.transport.send(drawer_kick(pin, self.pulse_on_ms, self.pulse_off_ms))
        log.info("kicked drawer pin %d on %s", pin, self.describe())

    def status(self, timeout: float = 1.0) -> PrinterStatus:
        """Ask the printer for paper, cover and drawer state (``DLE EOT`` 1, 2, 4).

        Never raises for a device problem: a printer that cannot be reached is ``Health.OFF``,
        one that does not answer in ``timeout`` seconds is ``Health.UNKNOWN``.
        """
        self._check_open()
        try:
            answers = self.transport.exchange(STATUS_REQUEST, len(STATUS_QUERIES), timeout)
        except DeviceUnavailable as exc:
            log.info("status of %s: %s", self.describe(), exc)
            return PrinterStatus(Health.OFF)
        status = decode_status(answers, drawer_open_when_high=self.drawer_open_when_high)
        log.debug("status of %s: %s (answers %s)", self.describe(), status, answers.hex())
        return status

    def send_raw(self, data: bytes) -> None:
        """Send prepared ESC/POS bytes (a reprint from the queue, a test page)."""
        self._check_open()
        self.transport.send(data)

    def close(self) -> None:
        """Refuse further jobs. Nothing is held open between jobs, so there is nothing to release."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosed(f"The {self.describe()} was closed; open it again in the settings.")


def open_printer(target: str, fmt: ReceiptFormat = DEFAULT_FORMAT) -> ReceiptPrinter:
    """A receipt printer for ``target`` (see module docs). Nothing is contacted yet.

    Raises:
        ConfigurationError: ``target`` is not of an accepted form; the message names them.
    """
    return ReceiptPrinter(parse_target(target), fmt)
