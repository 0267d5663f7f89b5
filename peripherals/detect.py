"""Finding lane hardware for an installer, only in ways that cannot print, cut, open or zero anything.

* **USB**: the bus is listed through pyusb (descriptors only; no device is opened) and matched
  against ``usb_ids``. Needs pyusb and libusb; without them the report says so and goes on.
* **Serial ports** (``serial.tools.list_ports``, plus ports named by the caller): each port is
  first only listened to, then asked, at one speed (9600 baud unless told), only questions that
  change nothing:

  0. nothing is sent: a CAS indicator in stream mode sends its weight line by itself, so a whole
     CAS line heard (at 8N1, else at 7E1 if something else was heard) is a CAS scale. This comes
     first because a streamed digit such as ``2`` would pass for a printer's status byte;
  1. ``DLE EOT 1`` (``10 04 01``), the ESC/POS real-time status request, answered by a receipt
     printer with one status byte (``byte & 0x93 == 0x12``) and never printed;
  2. only if no printer answered: the NCI weight request ``CR W CR`` (the leading ``CR`` ends
     whatever the printer question left in an NCI scale's buffer), then the Toledo 8217 weight
     request ``W``, each at 7E1 and 8N1. A weight request only reads the scale.

  No ``ESC p`` (drawer), ``GS V`` (cut), line feed or zero command is ever sent, and a port is
  probed at a single speed, because bytes at a wrong speed arrive as random characters a printer
  would print. A device that ignores every question (a printer without real-time status) keeps
  at most a ``W`` in its input; probing is therefore something the installer asks for, never
  done by the register on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import serial

from peripherals.errors import DeviceUnavailable
from peripherals.printer_status import status_request
from peripherals.scale_codec import (
    CAS_FRAME_LENGTHS,
    CR,
    ETX,
    LF,
    NCI_WEIGHT,
    TOLEDO_WEIGHT,
    ScaleError,
    decode_cas,
    decode_nci,
    decode_toledo,
)
from peripherals.transport import SERIAL_OPEN_ERRORS
from peripherals.usb_ids import PRINTER, SCALE, identify

log = logging.getLogger(__name__)

_SCALE_TRIES = (
    ("nci", CR + NCI_WEIGHT, ETX, 7, "E"),
    ("nci", CR + NCI_WEIGHT, ETX, 8, "N"),
    ("toledo8217", TOLEDO_WEIGHT, CR, 7, "E"),
    ("toledo8217", TOLEDO_WEIGHT, CR, 8, "N"),
)
_SCALE_NAMES = {"nci": "NCI", "toledo8217": "Toledo 8217", "cas": "CAS"}


@dataclass(frozen=True, slots=True)
class DetectedDevice:
    """One device found. ``target`` is what to write in ``lane.json``; None when no setting applies."""

    kind: str
    description: str
    found_by: str
    target: str | None = None
    protocol: str | None = None
    known: bool = True
    note: str = ""


@dataclass(frozen=True, slots=True)
class DetectionReport:
    devices: list[DetectedDevice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Sentences on what could not be searched or answered nothing."""


def detect_devices(
    *,
    usb: bool = True,
    serial_ports: Sequence[str] | None = None,
    probe: bool = True,
    baudrate: int = 9600,
    timeout: float = 0.3,
    usb_backend: object | None = None,
) -> DetectionReport:
    """USB lane hardware, then serial devices answering a harmless question.

    Args:
        usb: list the USB bus.
        serial_ports: the ports to probe; None means every port ``serial.tools.list_ports`` finds.
        probe: ask serial ports anything at all (False: only list them).
        baudrate: the one speed each port is asked at.
        timeout: seconds to wait for each answer.
        usb_backend: a pyusb backend (tests); None lets pyusb find libusb.
    """
    report = DetectionReport()
    if usb:
        devices, notes = list_usb_devices(usb_backend)
        report.devices.extend(devices)
        report.notes.extend(notes)
    ports = list_serial_ports() if serial_ports is None else list(serial_ports)
    if serial_ports is None and not ports:
        report.notes.append("No serial ports were found on this computer.")
    for port in ports:
        if not probe:
            report.devices.append(
                DetectedDevice("serial port", port, "serial port list", f"serial:{port}", known=False)
            )
            continue
        try:
            found = probe_serial_port(port, baudrate=baudrate, timeout=timeout)
        except DeviceUnavailable as exc:
            report.notes.append(str(exc))
            continue
        if found is None:
            report.notes.append(f"Nothing on {port} answered a printer or scale question at {baudrate} baud.")
        else:
            report.devices.append(found)
    return report


def list_usb_devices(backend: object | None = None) -> tuple[list[DetectedDevice], list[str]]:
    """Lane hardware on the USB bus by vendor/product id, and notes on what could not be done."""
    try:
        import usb.core
    except ImportError:
        return [], ["USB devices were not listed: the pyusb package is not installed."]
    try:
        found = list(usb.core.find(find_all=True, backend=backend))
    except usb.core.NoBackendError:
        return [], [
            "USB devices were not listed: libusb is not installed on this computer "
            "(Debian/Ubuntu: apt install libusb-1.0-0)."
        ]
    except usb.core.USBError as exc:
        return [], [f"USB devices were not listed: {exc}."]
    devices = []
    for dev in found:
        item = _usb_item(dev)
        if item is not None:
            devices.append(item)
    return devices, []


def _usb_item(dev: Any) -> DetectedDevice | None:
    vid, pid = int(dev.idVendor), int(dev.idProduct)
    what = identify(vid, pid)
    if what is None:
        return None
    ids = f"{vid:04x}:{pid:04x}"
    model = what.model or "model not in our table"
    return DetectedDevice(
        kind=what.kind,
        description=f"{what.vendor} {model} (USB {ids}, bus {dev.bus} address {dev.address})",
        found_by="USB id",
        target=f"usb:{ids}" if what.kind == PRINTER else None,
        known=what.known,
        note=what.note if what.known else "",
    )


def list_serial_ports() -> list[str]:
    """Serial port device names (``/dev/ttyUSB0``, ``COM3``), sorted."""
    from serial.tools import list_ports

    return sorted(info.device for info in list_ports.comports())


def probe_serial_port(port: str, *, baudrate: int = 9600, timeout: float = 0.3) -> DetectedDevice | None:
    """What answers on ``port``: a CAS scale streaming, a receipt printer, an NCI or a Toledo scale, or None.

    Raises:
        DeviceUnavailable: the port cannot be opened.
    """
    heard = _listen(port, baudrate, 8, "N", timeout)
    if heard is None:
        raise DeviceUnavailable(
            f"The serial port {port} cannot be opened; check it exists and no other program is using it."
        )
    for bytesize, parity in ((8, "N"), (7, "E")):
        if bytesize == 7:  # silence at 8N1 is silence at 7E1 too; garbage may be the wrong framing
            heard = _listen(port, baudrate, 7, "E", timeout) if heard else None
        if heard and _is_cas_stream(heard):
            return _scale_found("cas", port, baudrate, bytesize, parity, found_by="listening")
    answer = _ask_byte(port, baudrate, status_request(1), timeout)
    if answer is None:
        raise DeviceUnavailable(
            f"The serial port {port} cannot be opened; check it exists and no other program is using it."
        )
    if answer and answer[0] & 0x93 == 0x12:
        return DetectedDevice(
            PRINTER, f"ESC/POS receipt printer on {port}", "status request", f"serial:{port}?baudrate={baudrate}"
        )
    for protocol, request, terminator, bytesize, parity in _SCALE_TRIES:
        frames = _ask_frames(
            port, baudrate, bytesize=bytesize, parity=parity, request=request, terminator=terminator, timeout=timeout
        )
        if _is_scale_answer(protocol, frames):
            return _scale_found(protocol, port, baudrate, bytesize, parity, found_by="weight request")
    return None


def _scale_found(
    protocol: str, port: str, baudrate: int, bytesize: int, parity: str, *, found_by: str
) -> DetectedDevice:
    settings = f"?baudrate={baudrate}" + ("&bytesize=7&parity=E" if bytesize == 7 else "")
    return DetectedDevice(
        SCALE,
        f"{_SCALE_NAMES[protocol]} scale on {port} ({baudrate} baud, {bytesize}{parity}1)",
        found_by,
        f"serial:{port}{settings}",
        protocol=protocol,
    )


def _is_cas_stream(heard: bytes) -> bool:
    """A whole CAS line in what was heard (the first piece may be cut, the last unfinished)."""
    for line in heard.split(LF)[1:-1]:
        try:
            decode_cas(line + LF)
        except ScaleError:
            continue
        return True
    return False


def _listen(port: str, baudrate: int, bytesize: int, parity: str, timeout: float) -> bytes | None:
    """Two CAS lines' worth of what the port sends unasked (b"" for silence), or None when it cannot be opened."""
    with _opened(port, baudrate, bytesize, parity, timeout) as conn:
        if conn is None:
            return None
        return bytes(conn.read(2 * max(CAS_FRAME_LENGTHS)))
    return b""  # failed mid-listen


def _is_scale_answer(protocol: str, frames: list[bytes]) -> bool:
    for frame in frames:
        try:
            if protocol == "nci":
                decode_nci(frame)
            else:
                decode_toledo(frame)
        except ScaleError:
            continue
        return True
    return False


@contextmanager
def _opened(port: str, baudrate: int, bytesize: int, parity: str, timeout: float) -> Iterator[serial.SerialBase | None]:
    """The open port, or None when it cannot be opened or fails mid-question (nothing found there)."""
    try:
        conn = serial.serial_for_url(
            port, baudrate=baudrate, bytesize=bytesize, parity=parity, timeout=timeout, write_timeout=timeout
        )
    except SERIAL_OPEN_ERRORS as exc:
        log.info("probe %s: cannot open: %s", port, exc)
        yield None
        return
    try:
        conn.reset_input_buffer()  # an old answer is not this answer
        yield conn
    except (serial.SerialException, OSError) as exc:
        log.info("probe %s: %s", port, exc)
    finally:
        conn.close()


def _ask_byte(port: str, baudrate: int, request: bytes, timeout: float) -> bytes | None:
    """The one-byte answer (b"" for none), or None when the port cannot be opened."""
    with _opened(port, baudrate, 8, "N", timeout) as conn:
        if conn is None:
            return None
        conn.write(request)
        conn.flush()
        return bytes(conn.read(1))
    return b""  # failed mid-question


def _ask_frames(
    port: str, baudrate: int, *, bytesize: int, parity: str, request: bytes, terminator: bytes, timeout: float
) -> list[bytes]:
    """Up to two answers ending in ``terminator``: an NCI scale may first answer "?" to left-over bytes."""
    frames: list[bytes] = []
    with _opened(port, baudrate, bytesize, parity, timeout) as conn:
        if conn is None:
            return frames
        conn.write(request)
        conn.flush()
        deadline = time.monotonic() + timeout
        while len(frames) < 2 and (left := deadline - time.monotonic()) > 0:
            conn.timeout = left
            frame = bytes(conn.read_until(terminator, 64))
            if not frame.endswith(terminator):
                break
            frames.append(frame)
            if _plausible(frame):
                break
    return frames


def _plausible(frame: bytes) -> bool:
    """Not an NCI "unknown command" answer (``LF ? CR ETX``), which is worth one more read."""
    return b"?" not in frame or frame.startswith(b"\x02")
