"""Auto-detection: USB ids through pyusb, and serial ports probed only with harmless questions."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
import usb.backend.libusb0
import usb.backend.libusb1
import usb.backend.openusb

from peripherals.detect import detect_devices, list_usb_devices, probe_serial_port
from peripherals.errors import DeviceUnavailable
from peripherals.fakes.scale import FakeCasScale, FakeScale
from peripherals.fakes.serial_printer import FakeSerialPrinter
from peripherals.fakes.usb_backend import FakeUsbBackend, FakeUsbDevice
from peripherals.scale_codec import ScaleReading, WeightState
from peripherals.usb_ids import MODELS, PRINTER, SCALE, SCANNER, VENDORS, identify


def test_every_listed_model_has_its_vendor() -> None:
    assert {vid for vid, _ in MODELS} <= set(VENDORS)


def test_identify() -> None:
    epson = identify(0x04B8, 0x0202)
    assert epson is not None
    assert (epson.vendor, epson.kind, epson.known) == ("Seiko Epson", PRINTER, True)
    other = identify(0x04B8, 0x1234)
    assert other is not None
    assert (other.model, other.known, other.note) == (None, False, "model not in our table")
    assert identify(0x046D, 0xC52B) is None  # a Logitech receiver is not lane hardware


def test_usb_bus_lists_lane_hardware_and_marks_unknown_models() -> None:
    backend = FakeUsbBackend(
        [
            FakeUsbDevice(0x04B8, 0x0202),
            FakeUsbDevice(0x0C2E, 0x0204),
            FakeUsbDevice(0x0EB8, 0xF000),
            FakeUsbDevice(0x0519, 0x7777),
            FakeUsbDevice(0x046D, 0xC52B),
        ]
    )
    devices, notes = list_usb_devices(backend)
    assert notes == []
    assert [(d.kind, d.target, d.known) for d in devices] == [
        (PRINTER, "usb:04b8:0202", True),
        (SCANNER, None, True),
        (SCALE, None, True),
        (PRINTER, "usb:0519:7777", False),
    ]
    assert devices[0].description.startswith("Seiko Epson TM-T88/TM-T70 series")
    assert "keyboard wedge" in devices[1].note
    assert "not driven yet" in devices[2].note
    assert "model not in our table" in devices[3].description
    assert not any(d.claims for d in backend.devices)  # listing opens nothing


def test_without_libusb_the_report_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (usb.backend.libusb1, usb.backend.openusb, usb.backend.libusb0):
        monkeypatch.setattr(module, "get_backend", lambda *a, **k: None)
    report = detect_devices(serial_ports=[])
    assert report.devices == []
    assert report.notes == [
        "USB devices were not listed: libusb is not installed on this computer "
        "(Debian/Ubuntu: apt install libusb-1.0-0)."
    ]


@pytest.fixture
def silent_port() -> Iterator[str]:
    master, slave = os.openpty()
    tty.setraw(master)
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


@pytest.mark.parametrize("protocol", ["toledo8217", "nci"])
def test_probe_finds_a_scale(protocol: str) -> None:
    with FakeScale(protocol) as fake:  # type: ignore[arg-type]
        fake.reading = ScaleReading(WeightState.STABLE, 1234)
        found = probe_serial_port(fake.device, timeout=0.3)
        assert found is not None
        assert (found.kind, found.protocol, found.target) == (SCALE, protocol, f"serial:{fake.device}?baudrate=9600")
        assert not any(c.startswith(b"Z") for c in fake.commands)  # never zeroed


class ListeningCasScale(FakeCasScale):
    """A streaming CAS indicator that keeps whatever is sent to it."""

    heard = b""

    def _handle(self, pending: bytes) -> bytes:
        self.heard += pending
        return b""


@pytest.mark.parametrize("device_id", [1, None])  # the 22-byte and the 18-byte line
def test_probe_hears_a_cas_scale_streaming_without_asking_it_anything(device_id: int | None) -> None:
    with ListeningCasScale(device_id=device_id) as fake:
        fake.reading = ScaleReading(WeightState.STABLE, 1234)
        found = probe_serial_port(fake.device, timeout=0.3)
        assert found is not None
        assert (found.kind, found.protocol, found.target, found.found_by) == (
            SCALE, "cas", f"serial:{fake.device}?baudrate=9600", "listening",
        )  # fmt: skip
        assert found.description == f"CAS scale on {fake.device} (9600 baud, 8N1)"
    assert fake.heard == b""  # not even the printer's status question


def test_probe_finds_a_printer_without_printing_anything() -> None:
    with FakeSerialPrinter({1: 0x16}) as fake:
        found = probe_serial_port(fake.device, timeout=0.3)
        assert found is not None
        assert (found.kind, found.target) == (PRINTER, f"serial:{fake.device}?baudrate=9600")
        assert fake.received() == b"\x10\x04\x01"  # the status question, and nothing a printer would print


def test_silent_and_missing_ports_are_notes(silent_port: str, tmp_path: Path) -> None:
    report = detect_devices(usb=False, serial_ports=[silent_port, f"{tmp_path}/ttyUSB7"], timeout=0.05)
    assert report.devices == []
    assert report.notes == [
        f"Nothing on {silent_port} answered a printer or scale question at 9600 baud.",
        f"The serial port {tmp_path}/ttyUSB7 cannot be opened; check it exists and no other program is using it.",
    ]
    with pytest.raises(DeviceUnavailable):
        probe_serial_port(f"{tmp_path}/ttyUSB7")


def test_silent_port_got_only_harmless_questions() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        assert probe_serial_port(os.ttyname(slave), timeout=0.05) is None
        asked = os.read(master, 100)
    finally:
        os.close(slave)
        os.close(master)
    for never in (b"\x1bp", b"\x1dV", b"\n", b"Z"):  # drawer kick, cut, line feed, zero
        assert never not in asked
    assert asked.startswith(b"\x10\x04\x01")


def test_listing_without_probing_sends_nothing(silent_port: str) -> None:
    report = detect_devices(usb=False, serial_ports=[silent_port], probe=False)
    assert [(d.kind, d.target, d.known) for d in report.devices] == [("serial port", f"serial:{silent_port}", False)]


def test_detect_combines_usb_and_serial() -> None:
    with FakeScale("nci") as scale, FakeSerialPrinter({1: 0x12}) as printer:
        report = detect_devices(
            serial_ports=[scale.device, printer.device],
            usb_backend=FakeUsbBackend([FakeUsbDevice(0x05F9, 0x2206)]),
            timeout=0.3,
        )
    assert [(d.kind, d.found_by) for d in report.devices] == [
        (SCANNER, "USB id"),
        (SCALE, "weight request"),
        (PRINTER, "status request"),
    ]
