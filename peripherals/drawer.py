"""The cash drawer: opened through the receipt printer or by its own serial interface, with its sensor.

Two ways a drawer is wired:

* **to the printer** (``printer``): the printer's drawer port pulses the solenoid on ``ESC p``
  (pin 2 or 5) and reports the drawer switch on connector pin 3, read with ``DLE EOT 1`` bit 2
  (``10 04 01``; see ``printer_status``).
* **on its own serial port** (``serial:DEVICE``): a serial drawer interface such as APG's
  SerialPRO (484A SerialPRO II, 212A Smart SerialPRO) opens the drawer when its opening sequence
  arrives, BEL (``07``) as shipped, one or two characters set by DIP switches; the interface
  reports the switch on a modem status line, CTS or RI as its DIP switch selects (others use DSR
  or CD). It is powered from DTR and RTS, which stay high only while the port is open, so this
  driver keeps the port open between calls (and reopens it after an error) instead of opening it
  per job like the printer transports.

Which level means "open" depends on the drawer's switch and wiring, so it is a setting
(``open_when_high``); check it once by opening the drawer by hand and reading the status.
Every call blocks: run them on the drawer's (for a printer drawer: the printer's) ``DeviceWorker``.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal, Protocol

import serial

from peripherals.errors import ConfigurationError, DeviceUnavailable
from peripherals.printer import ReceiptPrinter
from peripherals.printer_status import Drawer, decode_status, status_request
from peripherals.targets import parse_target
from peripherals.transport import SERIAL_OPEN_ERRORS, SerialTransport

log = logging.getLogger(__name__)

SensorLine = Literal["cts", "dsr", "ri", "cd"]
SENSOR_LINES: tuple[SensorLine, ...] = ("cts", "dsr", "ri", "cd")
APG_OPENING_SEQUENCE = b"\x07"
"""BEL: the opening character APG serial interfaces ship with."""


class CashDrawer(Protocol):
    def describe(self) -> str:
        """``"cash drawer on the receipt printer at 127.0.0.1:9100"``."""

    def open(self) -> None:
        """Release the drawer; raises ``PeripheralError`` when the command cannot be delivered."""

    def status(self) -> Drawer:
        """``OPEN``/``CLOSED`` from the sensor, ``UNKNOWN`` when there is none or it did not answer."""

    def close(self) -> None:
        """Let go of the port, if one is held."""


class PrinterDrawer:
    """A drawer on the receipt printer's drawer port."""

    def __init__(
        self, printer: ReceiptPrinter, *, pin: int = 2, open_when_high: bool = False, timeout: float = 1.0
    ) -> None:
        if pin not in (2, 5):
            raise ConfigurationError(f"The cash drawer pin {pin} does not exist; use 2 or 5.")
        self.printer = printer
        self.pin = pin
        self.open_when_high = open_when_high
        self.timeout = timeout

    def describe(self) -> str:
        return f"cash drawer on the {self.printer.describe()}"

    def open(self) -> None:
        self.printer.kick_drawer(self.pin)

    def status(self) -> Drawer:
        """Ask ``DLE EOT 1`` only (one byte back); never raises for a device problem."""
        try:
            answer = self.printer.transport.exchange(status_request(1), 1, self.timeout)
        except DeviceUnavailable as exc:
            log.info("%s: %s", self.describe(), exc)
            return Drawer.UNKNOWN
        return decode_status(answer, drawer_open_when_high=self.open_when_high).drawer

    def close(self) -> None:
        """Nothing is held open: the printer's transport opens per job."""


class SerialDrawer:
    """A drawer with its own serial interface: ``kick`` opens it, modem line ``sensor`` reports it."""

    def __init__(
        self,
        transport: SerialTransport,
        *,
        kick: bytes = APG_OPENING_SEQUENCE,
        sensor: SensorLine | None = "cts",
        open_when_high: bool = True,
        write_timeout: float = 2.0,
    ) -> None:
        if not 1 <= len(kick) <= 2:
            raise ConfigurationError("The cash drawer opening sequence must be one or two characters, e.g. 07.")
        if sensor is not None and sensor not in SENSOR_LINES:
            raise ConfigurationError(f"The cash drawer sensor line {sensor!r} does not exist; use cts, dsr, ri or cd.")
        self.transport = transport
        self.kick = kick
        self.sensor = sensor
        self.open_when_high = open_when_high
        self.write_timeout = write_timeout
        self._lock = threading.Lock()
        self._port: serial.SerialBase | None = None  # held open: the interface is powered by DTR/RTS

    def describe(self) -> str:
        return f"cash drawer {self.transport.describe()}"

    def open(self) -> None:
        """Send the opening sequence, reopening the port once if it went away.

        Raises:
            DeviceUnavailable: the port cannot be opened or does not take the bytes.
        """
        with self._lock:
            for attempt in (1, 2):
                port = self._held_port()
                try:
                    port.write(self.kick)
                    port.flush()
                except (serial.SerialException, OSError) as exc:
                    self._drop()
                    log.info("%s: write failed (attempt %d): %s", self.describe(), attempt, exc)
                    if attempt == 2:
                        raise DeviceUnavailable(
                            f"The {self.describe()} stopped taking commands; check its cable is plugged in."
                        ) from exc
                else:
                    log.info("opened %s", self.describe())
                    return

    def status(self) -> Drawer:
        """The sensor line's level; ``UNKNOWN`` without a sensor, or when the port cannot report it."""
        if self.sensor is None:
            return Drawer.UNKNOWN
        with self._lock:
            try:
                level = bool(getattr(self._held_port(), self.sensor))
            except (DeviceUnavailable, serial.SerialException, OSError) as exc:  # OSError: no modem lines
                self._drop()
                log.info("%s: sensor unreadable: %s", self.describe(), exc)
                return Drawer.UNKNOWN
        return Drawer.OPEN if level == self.open_when_high else Drawer.CLOSED

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _held_port(self) -> serial.SerialBase:
        if self._port is None:
            t = self.transport
            try:
                self._port = serial.serial_for_url(
                    t.url,
                    baudrate=t.baudrate,
                    bytesize=t.bytesize,
                    parity=t.parity,
                    rtscts=t.rtscts,
                    timeout=0,
                    write_timeout=self.write_timeout,
                )
            except SERIAL_OPEN_ERRORS as exc:
                raise DeviceUnavailable(
                    f"The {self.describe()} cannot be opened; "
                    "check its cable is plugged in and no other program is using the port."
                ) from exc
        return self._port

    def _drop(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            try:
                port.close()
            except (serial.SerialException, OSError):
                log.debug("%s: close after an error failed", self.describe())


def open_drawer(
    target: str,
    *,
    printer: ReceiptPrinter | None = None,
    pin: int = 2,
    kick: bytes = APG_OPENING_SEQUENCE,
    sensor: SensorLine | None = "cts",
    open_when_high: bool | None = None,
) -> PrinterDrawer | SerialDrawer:
    """The drawer at ``target``: ``printer`` (wired to ``printer``) or ``serial:DEVICE[?baudrate=N]``.

    ``open_when_high`` defaults to False for a printer drawer and True for a serial one.

    Raises:
        ConfigurationError: an unknown target, a printer drawer without a printer, a bad pin or line.
    """
    if target == "printer":
        if printer is None:
            raise ConfigurationError(
                "The cash drawer is wired to the receipt printer, but no printer is set; set the printer first."
            )
        return PrinterDrawer(printer, pin=pin, open_when_high=bool(open_when_high))
    if target.startswith("serial:"):
        transport = parse_target(target, device="cash drawer")
        assert isinstance(transport, SerialTransport)
        return SerialDrawer(
            transport, kick=kick, sensor=sensor, open_when_high=True if open_when_high is None else open_when_high
        )
    raise ConfigurationError(
        f"The cash drawer address {target!r} is not understood; use printer (wired to the receipt printer) "
        "or serial:DEVICE[?baudrate=N] for a drawer with its own serial interface."
    )
