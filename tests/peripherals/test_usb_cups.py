"""USB printers through real pyusb (a fake backend in place of libusb) and CUPS queues through a fake ``lp``."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import usb.backend.libusb0
import usb.backend.libusb1
import usb.backend.openusb

from peripherals.cups_transport import CupsTransport
from peripherals.errors import ConfigurationError, DeviceUnavailable
from peripherals.escpos_codec import encode_receipt
from peripherals.escpos_decode import decode_escpos
from peripherals.fakes.usb_backend import FakeUsbBackend, FakeUsbDevice
from peripherals.printer import ReceiptPrinter, open_printer
from peripherals.printer_status import Drawer, Health, Paper
from peripherals.targets import parse_target
from peripherals.usb_transport import UsbTransport
from pos_core.receipt import ReceiptRow

EPSON = (0x04B8, 0x0202)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("usb:04b8:0202", UsbTransport(0x04B8, 0x0202)),
        ("usb:0x04B8:0x0202", UsbTransport(0x04B8, 0x0202)),
        ("usb:0519:3?interface=1", UsbTransport(0x0519, 0x0003, interface=1)),
        ("usb:04b8:0202?in_ep=0x82&out_ep=1", UsbTransport(0x04B8, 0x0202, in_ep=0x82, out_ep=0x01)),
        ("cups:TM-T88_front", CupsTransport("TM-T88_front")),
    ],
)
def test_usb_and_cups_targets_parse(target: str, expected: object) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    ("target", "sentence"),
    [
        ("usb:04b8", r"not understood; use usb:VID:PID"),
        ("usb:04b8:", r"not understood; use usb:VID:PID"),
        ("usb:epson:0202", r"not understood; use usb:VID:PID"),
        ("usb:04b8:12345", r"not understood; use usb:VID:PID"),
        ("usb:04b8:0202?speed=1", r"option we do not know; use usb:VID:PID"),
        ("usb:04b8:0202?in_ep=0x1ff", r"option we do not know"),
        ("usb:04b8:0202?interface", r"option we do not know"),
        ("cups:", r"not understood; use .*cups:QUEUE"),
        ("cups:front desk", r"not a CUPS queue name; use cups:QUEUE"),
        ("cups:a/b", r"not a CUPS queue name"),
        ("cups:front\n", r"not a CUPS queue name"),
        ("usb:04b8:0202\n", r"not understood; use usb:VID:PID"),
    ],
)
def test_bad_usb_and_cups_targets_are_sentences(target: str, sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence):
        parse_target(target)


def _usb_printer(device: FakeUsbDevice, target: str = "usb:04b8:0202") -> ReceiptPrinter:
    transport = parse_target(target)
    assert isinstance(transport, UsbTransport)
    return ReceiptPrinter(replace(transport, backend=FakeUsbBackend([device])))


def test_usb_printer_prints_through_pyusb(receipt_rows: list[ReceiptRow]) -> None:
    device = FakeUsbDevice(*EPSON)
    printer = _usb_printer(device)
    assert printer.describe() == "receipt printer on USB 04b8:0202"
    printer.print_receipt(receipt_rows, open_drawer=True)
    [receipt] = decode_escpos(bytes(device.received))
    assert receipt.texts == [r.text for r in receipt_rows]
    assert receipt.cut
    assert receipt.drawer_kicks
    assert not device.kernel_driver  # usblp was moved aside for the job


def test_usb_status_is_read_from_the_in_endpoint() -> None:
    device = FakeUsbDevice(*EPSON, answers=[b"\x16", b"\x12", b"\x7e"])
    status = _usb_printer(device).status(timeout=0.5)
    assert (status.health, status.paper, status.drawer) == (Health.OFFLINE, Paper.OUT, Drawer.CLOSED)
    assert bytes(device.received) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


def test_usb_printer_without_in_endpoint_reports_unknown_not_ok() -> None:
    device = FakeUsbDevice(*EPSON, in_ep=None)
    assert _usb_printer(device).status(timeout=0.2).health is Health.UNKNOWN


def test_silent_usb_printer_is_unknown() -> None:
    assert _usb_printer(FakeUsbDevice(*EPSON)).status(timeout=0.2).health is Health.UNKNOWN


def test_named_endpoints_are_used_and_wrong_ones_are_sentences() -> None:
    device = FakeUsbDevice(*EPSON, out_ep=0x02, in_ep=0x81)
    _usb_printer(device, "usb:04b8:0202?out_ep=0x02&in_ep=0x81").send_raw(b"x")
    assert bytes(device.received) == b"x"
    with pytest.raises(ConfigurationError, match=r"has no such bulk endpoint on interface 0; leave in_ep and out_ep"):
        _usb_printer(device, "usb:04b8:0202?out_ep=0x01").send_raw(b"x")
    with pytest.raises(ConfigurationError, match=r"has no interface 2"):
        _usb_printer(device, "usb:04b8:0202?interface=2").send_raw(b"x")


def test_unplugged_usb_printer_is_a_sentence_and_works_when_replugged() -> None:
    device = FakeUsbDevice(*EPSON, unplugged=True)
    printer = _usb_printer(device)
    with pytest.raises(
        DeviceUnavailable, match=r"^The receipt printer on USB 04b8:0202 is not connected; check its USB"
    ):
        printer.send_raw(b"first")
    assert printer.status(timeout=0.1).health is Health.OFF
    device.unplugged = False
    printer.send_raw(b"second")
    assert bytes(device.received) == b"second"


def test_usb_permission_problem_names_the_fix() -> None:
    printer = _usb_printer(FakeUsbDevice(*EPSON, denied=True))
    with pytest.raises(
        DeviceUnavailable, match=r"^This computer user may not use the receipt printer on USB 04b8:0202; add"
    ):
        printer.send_raw(b"x")


def test_missing_libusb_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (usb.backend.libusb1, usb.backend.openusb, usb.backend.libusb0):
        monkeypatch.setattr(module, "get_backend", lambda *a, **k: None)
    printer = open_printer("usb:04b8:0202")
    with pytest.raises(
        DeviceUnavailable, match=r"^The receipt printer is on USB, which needs libusb, .*apt install libusb"
    ):
        printer.print_receipt([ReceiptRow("x")])


def test_missing_pyusb_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usb", None)  # import usb now raises ImportError
    printer = open_printer("usb:04b8:0202")
    with pytest.raises(DeviceUnavailable, match=r"needs the pyusb package; install unified-pos with its usb extra"):
        printer.print_receipt([ReceiptRow("x")])


# -- CUPS ----------------------------------------------------------------------------------------

FAKE_LP = """#!{python}
import os, sys
out = os.environ["FAKE_LP_DIR"]
with open(os.path.join(out, "args"), "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
with open(os.path.join(out, "jobs"), "ab") as f:
    f.write(sys.stdin.buffer.read())
if sys.argv[2] == "missing":
    sys.stderr.write("lp: The printer or class does not exist.\\n")
    sys.exit(1)
print("request id is queue-1 (1 file(s))")
"""


@pytest.fixture
def fake_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``lp`` first on PATH that records its arguments and the job's bytes in ``tmp_path``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(FAKE_LP.format(python=sys.executable))
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LP_DIR", str(tmp_path))
    return tmp_path


def test_cups_queue_gets_the_raw_job(fake_lp: Path, receipt_rows: list[ReceiptRow]) -> None:
    printer = open_printer("cups:TM_T88")
    assert printer.describe() == "receipt printer on CUPS queue TM_T88"
    printer.print_receipt(receipt_rows)
    assert (fake_lp / "args").read_text() == "-d TM_T88 -t unified-pos -o raw\n"
    assert (fake_lp / "jobs").read_bytes() == encode_receipt(receipt_rows)


def test_cups_refusal_carries_lps_words(fake_lp: Path) -> None:
    with pytest.raises(
        DeviceUnavailable, match=r"CUPS queue missing refused the job \(lp said: lp: The printer or class"
    ):
        open_printer("cups:missing").send_raw(b"x")


def test_cups_status_is_unknown_and_prints_nothing(fake_lp: Path) -> None:
    assert open_printer("cups:TM_T88").status().health is Health.UNKNOWN
    assert not (fake_lp / "jobs").exists()


def test_missing_cups_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lp anywhere
    with pytest.raises(DeviceUnavailable, match=r"CUPS is not installed on this computer \('lp' not found\); install"):
        open_printer("cups:TM_T88").send_raw(b"x")
