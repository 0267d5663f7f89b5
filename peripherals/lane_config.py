"""The lane's device settings, read from ``DATA_DIR/lane.json``.

Example (every section optional; a missing section means the lane has no such device)::

    {
      "printer":  {"target": "tcp:192.168.1.60:9100", "profile": "epson-tm-t88", "code_page": 19,
                   "receipt_barcode": "qr", "logo": "logo.png"},
      "drawer":   {"target": "printer", "pin": 2, "open_when_high": false, "alert_after_s": 30},
      "scale":    {"target": "serial:/dev/ttyUSB1?bytesize=7&parity=E", "protocol": "toledo8217", "unit": "kg"},
      "display":  {"target": "serial:/dev/ttyUSB2", "protocol": "epson"},
      "terminal": {"address": "192.168.1.80:9300"},
      "scanner":  {"target": "serial:/dev/ttyACM0?baudrate=9600", "terminator": "cr"}
    }

A serial scanner (a keyboard-wedge scanner needs no section): ``terminator`` ``cr``/``lf``/``crlf``
as set on the scanner (``cr``); ``prefix``/``suffix`` text it adds around each code, stripped.

A 58 mm printer: ``{"target": "usb:0416:5011", "profile": "generic-58mm"}`` (32 columns);
``"columns"`` narrows the line or, past font A's width, prints in font B; ``receipt_barcode`` is
``qr`` (default), ``code128`` or ``none``; a relative ``logo`` path is in the data folder.

A drawer on its own serial interface:
``{"target": "serial:/dev/ttyS0", "opening_sequence": "07", "sensor": "cts", "open_when_high": true}``.

The store server keeps each lane's settings in this same shape (``pos store lane set``); the
register fetches them when it starts and writes them here, so this file is the lane's copy for
when the server is unreachable, and its own settings when the server keeps none for it.
Loading checks types and names only: targets are parsed when a device is opened, so one bad
setting names itself in a sentence then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peripherals.drawer import SENSOR_LINES
from peripherals.errors import ConfigurationError
from peripherals.printer_profiles import get_profile
from peripherals.printer_setup import sale_code_kind
from peripherals.scale import ScaleProtocol

LANE_FILE = "lane.json"
_SCALE_PROTOCOLS: dict[str, ScaleProtocol] = {
    "toledo": "toledo8217",
    "toledo8217": "toledo8217",
    "nci": "nci",
    "cas": "cas",
}


@dataclass(frozen=True, slots=True)
class PrinterSettings:
    target: str
    code_page: int | None = None
    profile: str | None = None
    """A name in ``peripherals.printer_profiles.PROFILES``; None is the default (42 columns, 80 mm)."""
    columns: int | None = None
    receipt_barcode: str = "qr"
    logo: str | None = None


@dataclass(frozen=True, slots=True)
class DrawerSettings:
    target: str = "printer"
    pin: int = 2
    open_when_high: bool | None = None
    opening_sequence: bytes = b"\x07"
    sensor: str | None = "cts"
    alert_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    target: str
    protocol: ScaleProtocol = "toledo8217"
    unit: str = "kg"


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    target: str
    protocol: str = "epson"


@dataclass(frozen=True, slots=True)
class TerminalSettings:
    address: str


@dataclass(frozen=True, slots=True)
class ScannerSettings:
    target: str
    terminator: str = "cr"
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class LaneConfig:
    printer: PrinterSettings | None = None
    drawer: DrawerSettings | None = None
    scale: ScaleSettings | None = None
    display: DisplaySettings | None = None
    terminal: TerminalSettings | None = None
    scanner: ScannerSettings | None = None


def scale_protocol(name: str) -> ScaleProtocol:
    """``toledo``/``toledo8217``/``nci``/``cas`` -> the scale driver's protocol name.

    Raises:
        ConfigurationError: any other name.
    """
    try:
        return _SCALE_PROTOCOLS[name.lower()]
    except KeyError:
        raise ConfigurationError(f"The scale protocol {name!r} is not supported; use toledo, nci or cas.") from None


def load_lane_config(path: Path) -> LaneConfig:
    """The settings in ``path``; an empty ``LaneConfig`` when the file does not exist.

    Raises:
        ConfigurationError: the file is not JSON, or a setting has the wrong name or type.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LaneConfig()
    except OSError as exc:
        raise ConfigurationError(f"The lane settings {path} cannot be read ({exc.strerror or exc}).") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"The lane settings {path} are not valid JSON (line {exc.lineno}: {exc.msg}); fix or remove the file."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"The lane settings {path} must be a JSON object with device sections.")
    return parse_lane_config(data, str(path))


def parse_lane_config(data: dict[str, Any], where: str = "lane.json") -> LaneConfig:
    """``LaneConfig`` from the decoded JSON object (see the module docs)."""
    unknown = sorted(set(data) - {"printer", "drawer", "scale", "display", "terminal", "scanner"})
    if unknown:
        raise ConfigurationError(
            f"The lane settings {where} have a section we do not know: {unknown[0]!r}; "
            "use printer, drawer, scale, display, terminal and scanner."
        )
    r = _Reader(where)
    printer = r.section(data, "printer", {"target", "code_page", "profile", "columns", "receipt_barcode", "logo"})
    drawer = r.section(
        data, "drawer", {"target", "pin", "open_when_high", "opening_sequence", "sensor", "alert_after_s"}
    )
    scale = r.section(data, "scale", {"target", "protocol", "unit"})
    display = r.section(data, "display", {"target", "protocol"})
    terminal = r.section(data, "terminal", {"address"})
    scanner = r.section(data, "scanner", {"target", "terminator", "prefix", "suffix"})
    return LaneConfig(
        printer=None if printer is None else _printer(r, printer),
        drawer=None if drawer is None else _drawer(r, drawer),
        scale=None
        if scale is None
        else ScaleSettings(
            r.text(scale, "scale", "target"),
            scale_protocol(r.text(scale, "scale", "protocol", "toledo8217")),
            r.text(scale, "scale", "unit", "kg"),
        ),
        display=None
        if display is None
        else DisplaySettings(r.text(display, "display", "target"), r.text(display, "display", "protocol", "epson")),
        terminal=None if terminal is None else TerminalSettings(r.text(terminal, "terminal", "address")),
        scanner=None if scanner is None else _scanner(r, scanner),
    )


def _printer(r: _Reader, p: dict[str, Any]) -> PrinterSettings:
    profile = p.get("profile")
    logo = p.get("logo")
    for key, value in (("profile", profile), ("logo", logo)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigurationError(f"The printer {key} in {r.where} must be a non-empty text.")
    columns = r.integer(p, "printer", "columns", None)
    known = get_profile(profile)  # an unknown name is a sentence listing the known ones
    known.columns(columns)
    receipt_barcode = sale_code_kind(r.text(p, "printer", "receipt_barcode", "qr"), known, r.where)
    return PrinterSettings(
        r.text(p, "printer", "target"),
        r.integer(p, "printer", "code_page", None),
        profile,
        columns,
        receipt_barcode,
        logo,
    )


def _scanner(r: _Reader, d: dict[str, Any]) -> ScannerSettings:
    terminator = r.text(d, "scanner", "terminator", "cr")
    if terminator not in ("cr", "lf", "crlf"):
        raise ConfigurationError(f"The scanner terminator in {r.where} must be cr, lf or crlf, as set on the scanner.")
    affixes = [d.get(key, "") for key in ("prefix", "suffix")]
    if not all(isinstance(a, str) for a in affixes):
        raise ConfigurationError(f"The scanner prefix and suffix in {r.where} must be texts.")
    return ScannerSettings(r.text(d, "scanner", "target"), terminator, *affixes)


def _drawer(r: _Reader, d: dict[str, Any]) -> DrawerSettings:
    sequence_hex = r.text(d, "drawer", "opening_sequence", "07")
    try:
        sequence = bytes.fromhex(sequence_hex)
    except ValueError:
        sequence = b""
    if not 1 <= len(sequence) <= 2:
        raise ConfigurationError(
            f'The drawer opening_sequence {sequence_hex!r} in {r.where} must be one or two bytes in hex, e.g. "07".'
        )
    sensor = d.get("sensor", "cts")
    if sensor is not None and sensor not in SENSOR_LINES:
        raise ConfigurationError(f"The drawer sensor in {r.where} must be cts, dsr, ri, cd or null (none).")
    open_when_high = d.get("open_when_high")
    if open_when_high is not None and not isinstance(open_when_high, bool):
        raise ConfigurationError(f"The drawer open_when_high in {r.where} must be true or false.")
    alert = r.number(d, "drawer", "alert_after_s", 30)
    if alert <= 0:
        raise ConfigurationError(f"The drawer alert_after_s in {r.where} must be a number of seconds above 0.")
    return DrawerSettings(
        target=r.text(d, "drawer", "target", "printer"),
        pin=r.integer(d, "drawer", "pin", 2) or 0,
        open_when_high=open_when_high,
        opening_sequence=sequence,
        sensor=sensor,
        alert_after_s=alert,
    )


class _Reader:
    """Typed access to the JSON with one sentence per mistake."""

    def __init__(self, where: str) -> None:
        self.where = where

    def section(self, data: dict[str, Any], name: str, keys: set[str]) -> dict[str, Any] | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ConfigurationError(f"The {name} settings in {self.where} must be a JSON object.")
        extra = sorted(set(value) - keys)
        if extra:
            raise ConfigurationError(
                f"The {name} settings in {self.where} have {extra[0]!r}, which we do not know; "
                f"use {', '.join(sorted(keys))}."
            )
        return value

    def text(self, section: dict[str, Any], name: str, key: str, default: str | None = None) -> str:
        value = section.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"The {name} {key} in {self.where} must be a non-empty text.")
        return value

    def number(self, section: dict[str, Any], name: str, key: str, default: float) -> float:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"The {name} {key} in {self.where} must be a number.")
        return float(value)

    def integer(self, section: dict[str, Any], name: str, key: str, default: int | None) -> int | None:
        value = section.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigurationError(f"The {name} {key} in {self.where} must be a whole number.")
        return value
