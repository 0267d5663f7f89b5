"""Byte transports to a device: a file, a TCP socket, a serial port.

Each call opens the connection, does its job and closes it again. A device that is unplugged
and plugged back, or a network printer that restarts, therefore works on the next job without a
reconnect dance, and no object ever holds a half-open connection. Every call is blocking and
bounded by a timeout; run it on a ``DeviceWorker``, never on the UI thread or the event loop.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import serial

from peripherals.errors import DeviceUnavailable

log = logging.getLogger(__name__)


def _open_errors() -> tuple[type[Exception], ...]:
    """What opening a serial port may raise: pyserial lets ``termios.error`` through on POSIX."""
    errors: list[type[Exception]] = [serial.SerialException, OSError, ValueError]
    try:
        import termios
    except ImportError:  # Windows
        return tuple(errors)
    return (*errors, termios.error)


SERIAL_OPEN_ERRORS = _open_errors()


class Transport(Protocol):
    """Where a device's bytes go. ``device`` names it in messages ("receipt printer")."""

    def send(self, data: bytes) -> None:
        """Deliver ``data`` completely or raise ``PeripheralError``."""

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        """Send ``data`` and read up to ``reply_len`` bytes; fewer (even none) on timeout."""

    def describe(self) -> str:
        """Where the device is, for a person: "at 127.0.0.1:9100"."""


@dataclass(frozen=True, slots=True)
class FileTransport:
    """Appends bytes to a file as a device file would receive them (a printer for tests and demos)."""

    path: Path
    device: str = "receipt printer"

    def describe(self) -> str:
        return f"writing to {self.path}"

    def send(self, data: bytes) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                f.write(data)
        except OSError as exc:
            raise DeviceUnavailable(
                f"The {self.device} file {self.path} cannot be written ({exc.strerror or exc}); "
                "check the folder exists and this user may write to it."
            ) from exc
        log.debug("wrote %d bytes to %s", len(data), self.path)

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        return b""  # a file never answers, and status polls must not grow it: status stays unknown


@dataclass(frozen=True, slots=True)
class TcpTransport:
    """A network device on a raw TCP port (9100 for printers: "JetDirect"/"AppSocket")."""

    host: str
    port: int = 9100
    device: str = "receipt printer"
    connect_timeout: float = 3.0
    io_timeout: float = 10.0

    def describe(self) -> str:
        return f"at {self.host}:{self.port}"

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            log.info("%s %s: connect failed: %s", self.device, self.describe(), exc)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} does not answer; check it is on and connected."
            ) from exc
        sock.settimeout(self.io_timeout)
        return sock

    def _sendall(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError as exc:  # includes TimeoutError
            log.info("%s %s: send failed: %s", self.device, self.describe(), exc)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} stopped taking data; "
                "check it has paper, its cover is closed and its cable is in."
            ) from exc

    def send(self, data: bytes) -> None:
        with self._connect() as sock:
            self._sendall(sock, data)
            try:
                sock.shutdown(socket.SHUT_WR)  # tells the device the job is complete
            except OSError:
                log.debug("%s %s: shutdown after send failed", self.device, self.describe())
        log.debug("sent %d bytes to %s %s", len(data), self.device, self.describe())

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        with self._connect() as sock:
            self._sendall(sock, data)
            reply = bytearray()
            deadline = time.monotonic() + timeout
            while len(reply) < reply_len:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    chunk = sock.recv(reply_len - len(reply))
                except OSError:  # timeout or reset: what arrived is all there is
                    break
                if not chunk:
                    break
                reply += chunk
            return bytes(reply)


@dataclass(frozen=True, slots=True)
class SerialTransport:
    """A serial device (RS-232, USB virtual COM port) or any pyserial URL such as ``loop://``."""

    url: str
    baudrate: int = 9600
    rtscts: bool = False
    device: str = "receipt printer"
    write_timeout: float = 10.0
    bytesize: int = 8
    parity: str = "N"

    def describe(self) -> str:
        return f"on {self.url}"

    def open_port(self, read_timeout: float) -> serial.SerialBase:
        """The port, opened with these settings; a port that cannot be opened is one sentence."""
        try:
            port: serial.SerialBase = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                rtscts=self.rtscts,
                bytesize=self.bytesize,
                parity=self.parity,
                timeout=read_timeout,
                write_timeout=self.write_timeout,
            )
        except SERIAL_OPEN_ERRORS as exc:
            log.info("%s %s: open failed: %s", self.device, self.describe(), exc)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} cannot be opened; "
                "check its cable is plugged in and no other program is using the port."
            ) from exc
        return port

    def _write(self, port: serial.SerialBase, data: bytes) -> None:
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:  # SerialTimeoutException is one
            log.info("%s %s: write failed: %s", self.device, self.describe(), exc)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} stopped taking data; "
                "check it is on, has paper and its cover is closed."
            ) from exc

    def send(self, data: bytes) -> None:
        port = self.open_port(read_timeout=0)
        try:
            self._write(port, data)
        finally:
            port.close()

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        return self._ask(data, timeout, lambda port: port.read(reply_len))

    def exchange_until(self, data: bytes, terminator: bytes, timeout: float, max_len: int = 256) -> bytes:
        """Send ``data`` and read up to and including ``terminator``; what arrived on timeout."""
        return self._ask(data, timeout, lambda port: port.read_until(terminator, max_len))

    def _ask(self, data: bytes, timeout: float, read: Callable[[serial.SerialBase], bytes]) -> bytes:
        port = self.open_port(read_timeout=timeout)
        try:
            port.reset_input_buffer()  # a late answer to an earlier question is not this answer
            self._write(port, data)
            try:
                return read(port)
            except (serial.SerialException, OSError):
                return b""
        finally:
            port.close()
