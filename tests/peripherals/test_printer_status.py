"""Printer status from DLE EOT answers: paper, cover, drawer; silence is unknown, never OK."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from peripherals.escpos_decode import DrawerKick, decode_escpos
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.printer import ReceiptPrinter, open_printer
from peripherals.printer_status import STATUS_REQUEST, Drawer, Health, Paper, PrinterStatus, decode_status
from peripherals.transport import TcpTransport
from pos_core.receipt import ReceiptRow


def test_status_request_is_dle_eot_1_2_4() -> None:
    assert bytes.fromhex("100401 100402 100404") == STATUS_REQUEST


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # all fine, drawer pin 3 low = open with the default wiring
        (b"\x12\x12\x12", PrinterStatus(Health.ONLINE, Paper.OK, False, Drawer.OPEN, False)),
        (b"\x16\x12\x12", PrinterStatus(Health.ONLINE, Paper.OK, False, Drawer.CLOSED, False)),
        # paper near end: bits 2+3 of n=4
        (b"\x16\x12\x1e", PrinterStatus(Health.ONLINE, Paper.NEAR_END, False, Drawer.CLOSED, False)),
        # paper out: offline, n=2 bit 5, n=4 bits 5+6
        (b"\x1e\x32\x7e", PrinterStatus(Health.OFFLINE, Paper.OUT, False, Drawer.CLOSED, False)),
        # cover open: offline, n=2 bit 2
        (b"\x1e\x16\x12", PrinterStatus(Health.OFFLINE, Paper.OK, True, Drawer.CLOSED, False)),
        # error: n=2 bit 6
        (b"\x1e\x52\x12", PrinterStatus(Health.OFFLINE, Paper.OK, False, Drawer.CLOSED, True)),
        # only the first question answered: the rest stays unknown
        (b"\x16", PrinterStatus(Health.ONLINE, Paper.UNKNOWN, None, Drawer.CLOSED, None)),
        # nothing, or garbage that is not a status byte
        (b"", PrinterStatus(Health.UNKNOWN)),
        (b"\xff\xff\xff", PrinterStatus(Health.UNKNOWN)),
        (b"A", PrinterStatus(Health.UNKNOWN)),
    ],
)
def test_decode_status(answers: bytes, expected: PrinterStatus) -> None:
    assert decode_status(answers) == expected


def test_drawer_wiring_is_configurable() -> None:
    assert decode_status(b"\x16", drawer_open_when_high=True).drawer is Drawer.OPEN
    assert decode_status(b"\x12", drawer_open_when_high=True).drawer is Drawer.CLOSED


def test_problem_sentences_put_the_worst_first() -> None:
    assert decode_status(b"\x16\x12\x12").problem() is None
    assert decode_status(b"\x1e\x36\x7e").problem() == "The receipt printer's cover is open; close it."
    assert decode_status(b"\x1e\x32\x7e").problem() == "The receipt printer is out of paper; load a new roll."
    assert decode_status(b"\x16\x12\x1e").problem() == "The receipt paper is nearly out; have a new roll ready."
    assert decode_status(b"").problem() == "The receipt printer does not report its status; check it by eye."
    assert PrinterStatus(Health.OFF).problem() == "The receipt printer does not answer; check it is on and connected."


def test_status_over_tcp_from_the_fake(fake_printer: FakeNetworkPrinter) -> None:
    printer = open_printer(f"tcp:127.0.0.1:{fake_printer.port}")
    assert printer.status(timeout=2) == PrinterStatus(Health.ONLINE, Paper.OK, False, Drawer.CLOSED, False)
    fake_printer.status[4] = 0x7E
    fake_printer.status[2] = 0x32
    assert printer.status(timeout=2).paper is Paper.OUT


def test_silent_printer_is_unknown_not_ok() -> None:
    with FakeNetworkPrinter(status={}) as fake:
        printer = ReceiptPrinter(TcpTransport("127.0.0.1", fake.port))
        assert printer.status(timeout=0.2) == PrinterStatus(Health.UNKNOWN)


def test_unreachable_printer_is_off() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert open_printer(f"tcp:127.0.0.1:{port}").status(timeout=0.2).health is Health.OFF


def test_file_printer_cannot_report(tmp_path: Path) -> None:
    assert open_printer(f"file:{tmp_path}/p.bin").status().health is Health.UNKNOWN
    assert not (tmp_path / "p.bin").exists()  # polling status does not write into the receipt file


def test_receipt_and_drawer_in_one_job(tmp_path: Path) -> None:
    path = tmp_path / "p.bin"
    open_printer(f"file:{path}").print_receipt([ReceiptRow("paid")], open_drawer=True, pin=5)
    [receipt] = decode_escpos(path.read_bytes())
    assert receipt.texts == ["paid"]
    assert receipt.cut
    assert receipt.drawer_kicks == [DrawerKick(5, 100, 100)]
