"""Serial scanners: frames byte for byte, and the real driver reading a fake scanner on a pty,
through garbage, partial frames and an unplug."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from peripherals.device import DeviceEvent, EventKind
from peripherals.errors import ConfigurationError
from peripherals.fakes.serial_scanner import FakeSerialScanner
from peripherals.lane_config import ScannerSettings, parse_lane_config
from peripherals.printer_status import Health
from peripherals.scanner_codec import BadLine, ScanFramer, ScannerFraming, decode_line, encode_scan
from peripherals.serial_scanner import SerialScanner, open_scanner
from peripherals.wedge import Scan

EAN = Scan("4006381333931", "]E0", "EAN/UPC")
WAIT_S = 5.0


@pytest.mark.parametrize(
    ("framing", "stream", "expected"),
    [
        (ScannerFraming("cr"), b"]E04006381333931\r", [EAN]),
        (ScannerFraming("lf"), b"]E04006381333931\n", [EAN]),
        (ScannerFraming("crlf"), b"]E04006381333931\r\n", [EAN]),
        (ScannerFraming("cr"), b"]E04006381333931\r\n]E455123457\r\n", [EAN, Scan("55123457", "]E4", "EAN-8")]),
        (ScannerFraming("lf"), b"4006381333931\r\n", [Scan("4006381333931")]),  # CR LF read as LF
        (ScannerFraming("cr", prefix=b"\x02", suffix=b"\x03"), b"\x02]E04006381333931\x03\r", [EAN]),
        (ScannerFraming("cr", prefix=b"S:"), b"4006381333931\r", [Scan("4006381333931")]),  # prefix optional
        (
            ScannerFraming("cr"),
            b"]C1010950110153000317\x1d10ABC123\r",  # GS separates GS1 fields
            [Scan("010950110153000317\x1d10ABC123", "]C1", "GS1-128")],
        ),
        (ScannerFraming("cr"), b"\r\r\n\r", []),  # empty lines are nothing
        (ScannerFraming("cr"), b"\xff\xfe\x80\x81\r", [BadLine("unreadable", b"\xff\xfe\x80\x81")]),
        (ScannerFraming("cr"), b"4006\x07381333931\r", [BadLine("unreadable", b"4006\x07381333931")]),
        (ScannerFraming("cr"), b"]E0\r", [BadLine("unreadable", b"]E0")]),  # an identifier and no data
    ],
)
def test_frames_become_scans(framing: ScannerFraming, stream: bytes, expected: list[Scan | BadLine]) -> None:
    assert ScanFramer(framing).feed(stream) == expected


def test_a_frame_split_across_reads_waits_for_its_terminator() -> None:
    framer = ScanFramer(ScannerFraming("crlf"))
    assert framer.feed(b"]E0400638") == []
    assert framer.pending == b"]E0400638"
    assert framer.feed(b"1333931\r") == []
    assert framer.feed(b"\n]E4551") == [EAN]
    assert framer.feed(b"23457\r\n") == [Scan("55123457", "]E4", "EAN-8")]
    assert framer.pending == b""


def test_an_over_long_line_is_dropped_once_and_the_next_code_is_read() -> None:
    framer = ScanFramer(ScannerFraming("cr", max_length=20))
    assert framer.feed(b"x" * 15) == []
    assert framer.feed(b"y" * 10) == [BadLine("too long", b"x" * 15 + b"y" * 10)]
    assert framer.feed(b"z" * 30) == [], "the rest of the same line is not reported again"
    assert framer.feed(b"zz\r]E04006381333931\r") == [EAN]
    assert framer.feed(b"a" * 21 + b"\r") == [BadLine("too long", b"a" * 21)]


def test_reset_drops_a_partial_frame() -> None:
    framer = ScanFramer()
    framer.feed(b"]E04006")
    framer.reset()
    assert framer.feed(b"12345678\r") == [Scan("12345678")]


def test_encode_scan_writes_what_the_scanner_sends() -> None:
    assert encode_scan("4006381333931", "]E0") == b"]E04006381333931\x0d"
    assert encode_scan("12345678", framing=ScannerFraming("crlf")) == b"12345678\x0d\x0a"
    assert encode_scan("1", framing=ScannerFraming("lf", b"\x02", b"\x03")) == b"\x021\x03\x0a"
    assert decode_line(b"", ScannerFraming()) is None


class Events:
    """A device's events as they arrive on its reader thread."""

    def __init__(self, scanner: SerialScanner) -> None:
        self._queue: queue.Queue[DeviceEvent] = queue.Queue()
        scanner.subscribe(self._queue.put)

    def next(self, *kinds: EventKind) -> DeviceEvent:
        """The next event of one of ``kinds``, skipping others."""
        while True:
            event = self._queue.get(timeout=WAIT_S)
            if event.kind in kinds:
                return event


@pytest.fixture
def fake() -> Iterator[FakeSerialScanner]:
    with FakeSerialScanner() as made:
        yield made


@pytest.fixture
def scanner(fake: FakeSerialScanner) -> Iterator[SerialScanner]:
    made = open_scanner(f"serial:{fake.device}?baudrate=9600", reopen_s=0.05)
    yield made
    made.close()


def test_scans_arrive_as_data_events_with_their_symbology(fake: FakeSerialScanner, scanner: SerialScanner) -> None:
    events = Events(scanner)
    scanner.claim()
    scanner.enable()
    assert events.next(EventKind.HEALTH).detail == Health.ONLINE.value
    fake.scan("4006381333931", "]E0")
    event = events.next(EventKind.DATA, EventKind.ERROR)
    assert (event.kind, event.data, event.detail) == (EventKind.DATA, EAN, "4006381333931 (EAN/UPC)")
    fake.send(b"]C10109501101")  # a frame in three reads
    fake.send(b"53000317")
    fake.send(b"\r")
    assert events.next(EventKind.DATA).data == Scan("010950110153000317", "]C1", "GS1-128")
    assert scanner.counters.operations == 2
    assert [t.name for t in threading.enumerate()].count("device-scanner") == 1


def test_garbage_is_dropped_with_a_counted_error(fake: FakeSerialScanner, scanner: SerialScanner) -> None:
    events = Events(scanner)
    scanner.claim()
    scanner.enable()
    fake.send(b"\xff\x00\xfe\x13\x80\r")
    error = events.next(EventKind.DATA, EventKind.ERROR)
    assert error.kind is EventKind.ERROR
    assert error.detail == (
        f"The scanner on {fake.device} sent a code we cannot read (unreadable); scan it again, and if it "
        "happens often check the scanner's speed and that it ends codes with CR."
    )
    fake.send(b"x" * 600)
    assert "(too long)" in events.next(EventKind.DATA, EventKind.ERROR).detail
    fake.send(b"x" * 10 + b"\r")
    fake.scan("12345678")
    assert events.next(EventKind.DATA, EventKind.ERROR).data == Scan("12345678")
    assert scanner.counters.failures == 2
    assert scanner.counters.consecutive_failures == 0


def test_an_unplugged_scanner_comes_back_by_itself(fake: FakeSerialScanner, scanner: SerialScanner) -> None:
    events = Events(scanner)
    scanner.claim()
    scanner.enable()
    assert events.next(EventKind.HEALTH).detail == Health.ONLINE.value
    fake.send(b"]E0400638")  # unplugged mid-frame: this half is never a scan
    fake.unplug()
    lost = events.next(EventKind.ERROR)
    assert lost.detail == (
        f"The scanner on {fake.device} was disconnected; check its cable. Scanning works again as soon as it is back."
    )
    assert events.next(EventKind.HEALTH).detail == Health.OFF.value
    assert scanner.health is Health.OFF
    fake.replug()
    assert events.next(EventKind.HEALTH).detail == Health.ONLINE.value
    fake.scan("4006381333931", "]E0")
    assert events.next(EventKind.DATA, EventKind.ERROR).data == EAN
    assert scanner.counters.failures == 1, "one sentence for the outage, not one per retry"


def test_a_scanner_missing_at_start_is_read_once_plugged_in(fake: FakeSerialScanner, scanner: SerialScanner) -> None:
    fake.unplug()
    events = Events(scanner)
    scanner.claim()
    scanner.enable()
    assert "cannot be opened; check its cable is plugged in" in events.next(EventKind.ERROR).detail
    assert events.next(EventKind.HEALTH).detail == Health.OFF.value
    fake.replug()
    assert events.next(EventKind.HEALTH, EventKind.ERROR).detail == Health.ONLINE.value
    fake.scan("12345678")
    assert events.next(EventKind.DATA).data == Scan("12345678")


def test_scans_are_delivered_only_while_enabled(fake: FakeSerialScanner, scanner: SerialScanner) -> None:
    events = Events(scanner)
    scanner.claim()
    assert events.next(EventKind.HEALTH).detail == Health.ONLINE.value
    fake.scan("11111111")  # claimed, not enabled: read and dropped
    fake.scan("22222222")
    scanner.enable()
    scanner.disable()
    scanner.enable()
    fake.scan("33333333")
    data = events.next(EventKind.DATA).data
    assert data in (Scan("22222222"), Scan("33333333"))  # the second may land after enable()
    scanner.close()
    assert "device-scanner" not in [t.name for t in threading.enumerate()]


@pytest.mark.parametrize(
    ("target", "terminator", "sentence"),
    [
        ("tcp:10.0.0.5", "cr", "must be a serial port: serial:DEVICE[?baudrate=N]."),
        ("serial:/dev/ttyACM0", "tab", "The scanner terminator 'tab' is not known; use cr, lf or crlf."),
        ("serial:/dev/ttyACM0?speed=9", "cr", "has an option we do not know"),
    ],
)
def test_bad_scanner_settings(target: str, terminator: str, sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence.replace("[", r"\[").replace("?", r"\?")):
        open_scanner(target, terminator)


def test_lane_json_scanner_section() -> None:
    cfg = parse_lane_config({"scanner": {"target": "serial:/dev/ttyACM0?baudrate=9600", "terminator": "crlf"}})
    assert cfg.scanner == ScannerSettings("serial:/dev/ttyACM0?baudrate=9600", "crlf")
    cfg = parse_lane_config({"scanner": {"target": "serial:/dev/ttyACM0", "prefix": "\u0002", "suffix": "\u0003"}})
    assert cfg.scanner == ScannerSettings("serial:/dev/ttyACM0", "cr", "\x02", "\x03")


@pytest.mark.parametrize(
    ("section", "sentence"),
    [
        ({"terminator": "cr"}, r"The scanner target in lane.json must be a non-empty text"),
        ({"target": "serial:x", "terminator": "tab"}, r"scanner terminator in lane.json must be cr, lf or crlf"),
        ({"target": "serial:x", "prefix": 2}, r"scanner prefix and suffix in lane.json must be texts"),
        ({"target": "serial:x", "baud": 9600}, r"have 'baud', which we do not know; use prefix, suffix, target"),
    ],
)
def test_lane_json_scanner_mistakes_are_sentences(section: dict[str, object], sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence):
        parse_lane_config({"scanner": section})
