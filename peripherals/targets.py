"""Device addresses as people write them in settings: ``file:``, ``tcp:``, ``serial:``, ``usb:`` and ``cups:``."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

from peripherals.cups_transport import CupsTransport
from peripherals.errors import ConfigurationError
from peripherals.transport import FileTransport, SerialTransport, TcpTransport, Transport
from peripherals.usb_transport import UsbTransport

TARGET_FORMS = "file:PATH, tcp:HOST[:PORT], serial:DEVICE[?baudrate=N], usb:VID:PID or cups:QUEUE"
DEFAULT_TCP_PORT = 9100
_BAUDRATES = frozenset({1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200})
_CUPS_QUEUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # CUPS names: no spaces, "/" or "#"
_USB_ID = re.compile(r"(?:0x)?([0-9A-Fa-f]{1,4})")
_USB_FORM = "usb:VID:PID[?interface=N&in_ep=0x82&out_ep=0x01] with hexadecimal ids, e.g. usb:04b8:0202"


def parse_target(target: str, device: str = "receipt printer") -> Transport:
    """The transport a target string names.

    Raises:
        ConfigurationError: the string is not one of ``TARGET_FORMS``.
    """
    kind, sep, rest = target.partition(":")
    if not sep or not rest:
        raise ConfigurationError(f"The {device} address {target!r} is not understood; use {TARGET_FORMS}.")
    if kind == "file":
        return FileTransport(Path(rest), device=device)
    if kind == "tcp":
        return _parse_tcp(target, rest, device)
    if kind == "serial":
        return _parse_serial(target, rest, device)
    if kind == "usb":
        return _parse_usb(target, rest, device)
    if kind == "cups":
        if not _CUPS_QUEUE.fullmatch(rest):
            raise ConfigurationError(
                f"The {device} address {target!r} is not a CUPS queue name; use cups:QUEUE with the name "
                "`lpstat -p` shows (letters, digits, - and _)."
            )
        return CupsTransport(rest, device=device)
    raise ConfigurationError(f"The {device} address {target!r} is not understood; use {TARGET_FORMS}.")


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
        raise ConfigurationError(f"The {device} address {target!r} has no host; use tcp:HOST[:PORT].")
    port = DEFAULT_TCP_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigurationError(
                f"The {device} port in {target!r} must be a number from 1 to 65535; use tcp:HOST[:PORT]."
            )
        port = int(port_text)
    return TcpTransport(host, port, device=device)


def _parse_serial(target: str, rest: str, device: str) -> SerialTransport:
    url, _, query = rest.partition("?")
    if not url:
        raise ConfigurationError(f"The {device} address {target!r} has no device; use serial:DEVICE[?baudrate=N].")
    baudrate, rtscts, bytesize, parity = 9600, False, 8, "N"
    try:
        options = parse_qsl(query, strict_parsing=True) if query else []
    except ValueError:
        options = [("", "")]
    for key, value in options:
        if key == "baudrate" and value.isdigit() and int(value) in _BAUDRATES:
            baudrate = int(value)
        elif key == "rtscts" and value in ("0", "1"):
            rtscts = value == "1"
        elif key == "bytesize" and value in ("7", "8"):
            bytesize = int(value)
        elif key == "parity" and value in ("N", "E", "O"):
            parity = value
        else:
            rates = ", ".join(str(r) for r in sorted(_BAUDRATES))
            raise ConfigurationError(
                f"The {device} address {target!r} has an option we do not know; use serial:DEVICE[?baudrate=N] "
                f"with N one of {rates}, optionally &rtscts=1, &bytesize=7 or 8, &parity=N, E or O."
            )
    return SerialTransport(url, baudrate, rtscts, device, bytesize=bytesize, parity=parity)


def _parse_usb(target: str, rest: str, device: str) -> UsbTransport:
    ids, _, query = rest.partition("?")
    vid_text, sep, pid_text = ids.partition(":")
    vid, pid = _USB_ID.fullmatch(vid_text), _USB_ID.fullmatch(pid_text)
    if not sep or vid is None or pid is None:
        raise ConfigurationError(f"The {device} address {target!r} is not understood; use {_USB_FORM}.")
    values: dict[str, int] = {}
    try:
        options = parse_qsl(query, strict_parsing=True) if query else []
    except ValueError:
        options = [("", "")]
    for key, value in options:
        number = _int_or_none(value)
        limit = 255 if key in ("in_ep", "out_ep") else 31
        if key not in ("interface", "in_ep", "out_ep") or number is None or not 0 <= number <= limit:
            raise ConfigurationError(f"The {device} address {target!r} has an option we do not know; use {_USB_FORM}.")
        values[key] = number
    return UsbTransport(
        int(vid.group(1), 16),
        int(pid.group(1), 16),
        interface=values.get("interface", 0),
        in_ep=values.get("in_ep"),
        out_ep=values.get("out_ep"),
        device=device,
    )


def _int_or_none(text: str) -> int | None:
    """``"0x82"`` or ``"130"`` -> 130; anything else -> None."""
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        return None
