"""The receipt printer over each transport, and the sentences a cashier sees when it fails."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from peripherals.errors import ConfigurationError, DeviceClosed, DeviceUnavailable, PeripheralError
from peripherals.escpos_codec import encode_receipt
from peripherals.escpos_decode import DrawerKick, decode_escpos
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.printer import ReceiptPrinter, open_printer
from peripherals.targets import parse_target
from peripherals.transport import FileTransport, SerialTransport, TcpTransport
from pos_core.receipt import ReceiptRow


def test_file_printer_appends_jobs_and_decoder_splits_them(tmp_path: Path, receipt_rows: list[ReceiptRow]) -> None:
    path = tmp_path / "spool" / "deep" / "printer.bin"
    printer = open_printer(f"file:{path}")
    printer.print_receipt(receipt_rows)
    printer.print_receipt([ReceiptRow("second job")])
    printer.kick_drawer()
    first, second, kick = decode_escpos(path.read_bytes())
    assert first.texts == [r.text for r in receipt_rows]
    assert second.texts == ["second job"]
    assert first.cut
    assert second.cut
    assert kick.drawer_kicks == [DrawerKick(2, 100, 100)]
    assert printer.describe() == f"receipt printer writing to {path}"


def test_unwritable_file_is_a_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    printer = open_printer(f"file:{blocker}/printer.bin")
    with pytest.raises(DeviceUnavailable, match=r"^The receipt printer file .* cannot be written .*; check"):
        printer.print_receipt([ReceiptRow("x")])


def test_tcp_printer_prints_to_the_fake(fake_printer: FakeNetworkPrinter, receipt_rows: list[ReceiptRow]) -> None:
    printer = open_printer(f"tcp:127.0.0.1:{fake_printer.port}")
    assert printer.describe() == f"receipt printer at 127.0.0.1:{fake_printer.port}"
    printer.print_receipt(receipt_rows)
    printer.kick_drawer(pin=5)
    [receipt, kick] = decode_escpos(fake_printer.wait_for_jobs(2))
    assert receipt.texts == [r.text for r in receipt_rows]
    assert kick.drawer_kicks == [DrawerKick(5, 100, 100)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_printer_that_is_off_raises_a_sentence_at_once() -> None:
    port = _free_port()
    printer = open_printer(f"tcp:127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(DeviceUnavailable) as err:
        printer.print_receipt([ReceiptRow("x")])
    assert str(err.value) == f"The receipt printer at 127.0.0.1:{port} does not answer; check it is on and connected."
    assert time.monotonic() - started < 2


def test_jammed_printer_times_out_instead_of_hanging() -> None:
    with FakeNetworkPrinter(mute=True) as fake:
        transport = TcpTransport("127.0.0.1", fake.port, io_timeout=0.3)
        printer = ReceiptPrinter(transport)
        started = time.monotonic()
        with pytest.raises(DeviceUnavailable, match=r"stopped taking data; check it has paper"):
            printer.send_raw(b"\x1b@" + b"x" * 20_000_000)  # far more than the socket buffers hold
        assert time.monotonic() - started < 5
        # A status question to a printer that never answers comes back empty, not hung.
        assert transport.exchange(b"\x10\x04\x01", 1, timeout=0.2) == b""


def test_unplugged_then_replugged_printer_works_again(fake_printer: FakeNetworkPrinter) -> None:
    printer = open_printer(f"tcp:127.0.0.1:{fake_printer.port}")
    printer.print_receipt([ReceiptRow("before")])
    fake_printer.wait_for_jobs(1)
    fake_printer.stop()
    with pytest.raises(DeviceUnavailable, match="does not answer"):
        printer.print_receipt([ReceiptRow("while unplugged")])
    fake_printer.start()
    printer.print_receipt([ReceiptRow("after")])
    receipts = decode_escpos(fake_printer.wait_for_jobs(2))
    assert [r.texts for r in receipts] == [["before"], ["after"]]


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


def _read_exactly(fd: int, count: int, timeout: float = 5.0) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + timeout
    while len(got) < count:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError(f"got {len(got)} of {count} bytes from the pty")
        got += os.read(fd, count - len(got))
    return bytes(got)


def test_serial_printer_over_a_pseudo_terminal(pty_pair: tuple[int, str], receipt_rows: list[ReceiptRow]) -> None:
    master, device = pty_pair
    printer = open_printer(f"serial:{device}?baudrate=19200")
    assert printer.describe() == f"receipt printer on {device}"
    printer.print_receipt(receipt_rows)
    expected = encode_receipt(receipt_rows)
    assert _read_exactly(master, len(expected)) == expected


def test_serial_exchange_reads_the_fresh_answer(pty_pair: tuple[int, str]) -> None:
    master, device = pty_pair
    os.write(master, b"\x12")  # a stale byte from earlier must not be taken for the answer
    transport = SerialTransport(device)

    def answer() -> None:
        _read_exactly(master, 3)
        os.write(master, b"\x16")

    t = threading.Thread(target=answer)
    t.start()
    assert transport.exchange(b"\x10\x04\x01", 1, timeout=5) == b"\x16"
    t.join(5)


def test_missing_serial_device_is_a_sentence(tmp_path: Path) -> None:
    printer = open_printer(f"serial:{tmp_path}/ttyUSB9")
    with pytest.raises(DeviceUnavailable, match=r"^The receipt printer on .*ttyUSB9 cannot be opened; check its cable"):
        printer.kick_drawer()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("file:spool/p.bin", FileTransport(Path("spool/p.bin"))),
        ("tcp:printer.local", TcpTransport("printer.local", 9100)),
        ("tcp:10.0.0.7:9101", TcpTransport("10.0.0.7", 9101)),
        ("tcp:[::1]:9102", TcpTransport("::1", 9102)),
        ("tcp:[fe80::1]", TcpTransport("fe80::1", 9100)),
        ("serial:/dev/ttyUSB0", SerialTransport("/dev/ttyUSB0")),
        ("serial:COM3?baudrate=38400", SerialTransport("COM3", baudrate=38400)),
        ("serial:/dev/ttyS0?baudrate=19200&rtscts=1", SerialTransport("/dev/ttyS0", baudrate=19200, rtscts=True)),
        ("serial:/dev/ttyS1?bytesize=7&parity=E", SerialTransport("/dev/ttyS1", bytesize=7, parity="E")),
    ],
)
def test_targets_parse(target: str, expected: object) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    "target",
    [
        "",
        "printer",
        "lpt:1",
        "file:",
        "tcp:",
        "tcp::9100",
        "tcp:host:port",
        "tcp:host:70000",
        "tcp:[::1",
        "serial:",
        "serial:/dev/ttyS0?baud=9600",
        "serial:/dev/ttyS0?baudrate=12345",
        "serial:/dev/ttyS0?baudrate",
        "serial:/dev/ttyS0?parity=X",
        "serial:/dev/ttyS0?bytesize=6",
    ],
)
def test_bad_targets_name_the_accepted_forms(target: str) -> None:
    with pytest.raises(ConfigurationError, match=r"; use .*(tcp:HOST\[:PORT\]|serial:DEVICE\[\?baudrate=N\])") as err:
        open_printer(target)
    assert isinstance(err.value, PeripheralError)


def test_closed_printer_refuses_jobs(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path}/p.bin")
    printer.close()
    with pytest.raises(DeviceClosed, match="was closed"):
        printer.print_receipt([ReceiptRow("x")])
    assert not (tmp_path / "p.bin").exists()
