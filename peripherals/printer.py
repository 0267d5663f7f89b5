"""The receipt printer: ESC/POS codec + a transport, chosen by a target string.

Targets::

    file:PATH                      append each job to PATH (demo, tests, a receipt viewer)
    tcp:HOST[:PORT]                network printer, raw port 9100 by default
    serial:DEVICE[?baudrate=N&rtscts=1]   serial or USB-serial printer (9600 baud default)

Every method blocks until the printer took the bytes or a timeout passed; call them through a
``DeviceWorker``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qsl

from peripherals.errors import ConfigurationError, DeviceClosed, DeviceUnavailable
from peripherals.escpos_codec import DEFAULT_FORMAT, ReceiptFormat, drawer_kick, encode_receipt
from peripherals.printer_status import STATUS_QUERIES, STATUS_REQUEST, Health, PrinterStatus, decode_status
from peripherals.transport import FileTransport, SerialTransport, TcpTransport, Transport
from pos_core.receipt import ReceiptRow

log = logging.getLogger(__name__)

TARGET_FORMS = "file:PATH, tcp:HOST[:PORT] or serial:DEVICE[?baudrate=N]"
DEFAULT_TCP_PORT = 9100
_BAUDRATES = frozenset({1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200})


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


def parse_target(target: str, device: str = "receipt printer") -> Transport:
    """The transport a target string names.

    Raises:
        ConfigurationError: the string is not one of ``TARGET_FORMS``.
    """
    kind, sep, rest = target.partition(":")
    if not sep or not rest:
        raise ConfigurationError(f"The printer address {target!r} is not understood; use {TARGET_FORMS}.")
    if kind == "file":
        return FileTransport(Path(rest), device=device)
    if kind == "tcp":
        return _parse_tcp(target, rest, device)
    if kind == "serial":
        return _parse_serial(target, rest, device)
    raise ConfigurationError(f"The printer address {target!r} is not understood; use {TARGET_FORMS}.")


def _parse_tcp(target: str, rest: str, device: str) -> TcpTransport:
    host, port_text = rest, ""
    if rest.startswith("["):  # [IPv6]:port
        close = rest.find("]")
        after = rest[close + 1 :] if close > 0 else "?"
        host = rest[1:close] if close > 0 and after[:1] in ("", ":") else ""
        port_text = after[1:]
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    if not host:
        raise ConfigurationError(f"The printer address {target!r} has no host; use tcp:HOST[:PORT].")
    port = DEFAULT_TCP_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigurationError(
                f"The printer port in {target!r} must be a number from 1 to 65535; use tcp:HOST[:PORT]."
            )
        port = int(port_text)
    return TcpTransport(host, port, device=device)


def _parse_serial(target: str, rest: str, device: str) -> SerialTransport:
    url, _, query = rest.partition("?")
    if not url:
        raise ConfigurationError(f"The printer address {target!r} has no device; use serial:DEVICE[?baudrate=N].")
    baudrate, rtscts = 9600, False
    try:
        options = parse_qsl(query, strict_parsing=True) if query else []
    except ValueError:
        options = [("", "")]
    for key, value in options:
        if key == "baudrate" and value.isdigit() and int(value) in _BAUDRATES:
            baudrate = int(value)
        elif key == "rtscts" and value in ("0", "1"):
            rtscts = value == "1"
        else:
            rates = ", ".join(str(r) for r in sorted(_BAUDRATES))
            raise ConfigurationError(
                f"The printer address {target!r} has an option we do not know; use serial:DEVICE[?baudrate=N] "
                f"with N one of {rates}, optionally &rtscts=1."
            )
    return SerialTransport(url, baudrate=baudrate, rtscts=rtscts, device=device)


def open_printer(target: str, fmt: ReceiptFormat = DEFAULT_FORMAT) -> ReceiptPrinter:
    """A receipt printer for ``target`` (see module docs). Nothing is contacted yet.

    Raises:
        ConfigurationError: ``target`` is not of an accepted form; the message names them.
    """
    return ReceiptPrinter(parse_target(target), fmt)
