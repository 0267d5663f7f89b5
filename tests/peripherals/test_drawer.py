"""Cash drawers on the printer and on their own serial port, their sensors, and the left-open alert."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from peripherals.drawer import PrinterDrawer, SensorLine, SerialDrawer, open_drawer
from peripherals.drawer_monitor import DrawerAlarm, DrawerAlert, DrawerMonitor
from peripherals.errors import ConfigurationError, DeviceUnavailable
from peripherals.escpos_decode import DrawerKick, decode_escpos
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.fakes.serial_drawer import FakeSerialDrawer
from peripherals.fakes.serial_printer import FakeSerialPrinter
from peripherals.printer import open_printer
from peripherals.printer_status import Drawer
from peripherals.worker import DeviceWorker

PIN3_HIGH, PIN3_LOW = 0x16, 0x12  # DLE EOT 1 answers: bit 2 is connector pin 3


# -- on the printer ------------------------------------------------------------------------------


def test_printer_drawer_kicks_through_the_printer(fake_printer: FakeNetworkPrinter) -> None:
    drawer = open_drawer("printer", printer=open_printer(f"tcp:127.0.0.1:{fake_printer.port}"), pin=5)
    drawer.open()
    [job] = decode_escpos(fake_printer.wait_for_jobs(1))
    assert job.drawer_kicks == [DrawerKick(5, 100, 100)]
    assert drawer.describe() == f"cash drawer on the receipt printer at 127.0.0.1:{fake_printer.port}"


@pytest.mark.parametrize(
    ("answer", "open_when_high", "expected"),
    [
        (PIN3_HIGH, True, Drawer.OPEN),
        (PIN3_HIGH, False, Drawer.CLOSED),
        (PIN3_LOW, True, Drawer.CLOSED),
        (PIN3_LOW, False, Drawer.OPEN),
    ],
)
def test_printer_drawer_sensor_and_polarity(answer: int, open_when_high: bool, expected: Drawer) -> None:
    with FakeNetworkPrinter(status={1: answer}) as fake:
        printer = open_printer(f"tcp:127.0.0.1:{fake.port}")
        assert PrinterDrawer(printer, open_when_high=open_when_high).status() is expected


def test_printer_drawer_asks_only_dle_eot_1_over_serial() -> None:
    with FakeSerialPrinter({1: PIN3_HIGH, 2: 0x12, 4: 0x12}) as fake:
        drawer = PrinterDrawer(open_printer(f"serial:{fake.device}"), open_when_high=True)
        assert drawer.status() is Drawer.OPEN
        assert fake.received() == b"\x10\x04\x01"


def test_printer_drawer_without_answer_is_unknown() -> None:
    with FakeNetworkPrinter(status={}) as silent:
        assert PrinterDrawer(open_printer(f"tcp:127.0.0.1:{silent.port}"), timeout=0.2).status() is Drawer.UNKNOWN
    with FakeNetworkPrinter() as fake:
        port = fake.port
    assert PrinterDrawer(open_printer(f"tcp:127.0.0.1:{port}")).status() is Drawer.UNKNOWN  # switched off


# -- on its own serial port ----------------------------------------------------------------------


@pytest.fixture
def serial_drawer() -> Iterator[FakeSerialDrawer]:
    with FakeSerialDrawer() as fake:
        yield fake


@pytest.mark.parametrize(
    ("kick", "sensor", "open_when_high"),
    [
        (b"\x07", "cts", True),
        (b"\x1b\x07", "dsr", True),
        (b"\x07", "cts", False),
        (b"\x07", "ri", True),
        (b"\x07", "cd", False),
    ],
)
def test_serial_drawer_opens_and_reports_on_its_line(kick: bytes, sensor: SensorLine, open_when_high: bool) -> None:
    """BEL on CTS, high = open, is APG's factory setting and the default; the rest are settings."""
    with FakeSerialDrawer(kick=kick, sensor=sensor, open_when_high=open_when_high) as fake:
        defaults = kick == b"\x07" and sensor == "cts" and open_when_high
        settings = {} if defaults else {"kick": kick, "sensor": sensor, "open_when_high": open_when_high}
        drawer = open_drawer(f"serial:{fake.url}", **settings)  # type: ignore[arg-type]
        assert drawer.describe() == f"cash drawer on {fake.url}"
        try:
            assert drawer.status() is Drawer.CLOSED
            drawer.open()
            fake.wait_for_kicks(1)
            assert drawer.status() is Drawer.OPEN
            fake.shut()
            assert drawer.status() is Drawer.CLOSED
        finally:
            drawer.close()


def test_serial_drawer_keeps_its_port_open_between_calls(serial_drawer: FakeSerialDrawer) -> None:
    drawer = open_drawer(f"serial:{serial_drawer.url}")
    assert isinstance(drawer, SerialDrawer)
    drawer.open()
    port = drawer._port
    drawer.open()
    serial_drawer.wait_for_kicks(2)
    assert drawer._port is port
    assert port is not None
    assert port.is_open  # DTR/RTS stay high: they power the interface
    drawer.close()
    assert not port.is_open


def test_port_without_modem_lines_reports_unknown() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        drawer = open_drawer(f"serial:{os.ttyname(slave)}")
        drawer.open()
        assert os.read(master, 10) == b"\x07"
        assert drawer.status() is Drawer.UNKNOWN  # a pty has no CTS: unknown, never "closed"
        drawer.close()
    finally:
        os.close(slave)
        os.close(master)


def test_vanished_serial_drawer_is_a_sentence(tmp_path: Path) -> None:
    drawer = open_drawer(f"serial:{tmp_path}/ttyS9")
    with pytest.raises(DeviceUnavailable, match=r"^The cash drawer on .*ttyS9 cannot be opened; check its cable"):
        drawer.open()
    assert drawer.status() is Drawer.UNKNOWN


def test_serial_drawer_reopens_after_the_port_went_away(serial_drawer: FakeSerialDrawer) -> None:
    drawer = open_drawer(f"serial:{serial_drawer.url}")
    assert isinstance(drawer, SerialDrawer)
    drawer.open()
    assert drawer._port is not None
    drawer._port.close()  # the USB-serial adapter was pulled and put back
    drawer.open()
    serial_drawer.wait_for_kicks(2)
    drawer.close()


@pytest.mark.parametrize(
    ("target", "kwargs", "sentence"),
    [
        ("printer", {}, r"wired to the receipt printer, but no printer is set"),
        ("tcp:10.0.0.9", {}, r"address 'tcp:10.0.0.9' is not understood; use printer .* or serial:DEVICE"),
        ("serial:/dev/ttyS0", {"kick": b""}, r"opening sequence must be one or two characters"),
        ("serial:/dev/ttyS0", {"sensor": "rts"}, r"sensor line 'rts' does not exist; use cts, dsr, ri or cd"),
        ("serial:/dev/ttyS0?baud=1", {}, r"has an option we do not know"),
    ],
)
def test_bad_drawer_settings_are_sentences(target: str, kwargs: dict[str, object], sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence):
        open_drawer(target, **kwargs)  # type: ignore[arg-type]


def test_printer_drawer_pin_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pin 3 does not exist; use 2 or 5"):
        open_drawer("printer", printer=open_printer(f"file:{tmp_path}/p"), pin=3)


# -- the left-open rule --------------------------------------------------------------------------

OPEN, CLOSED, UNKNOWN = Drawer.OPEN, Drawer.CLOSED, Drawer.UNKNOWN


def test_alert_rises_after_the_set_time_and_clears_on_closing() -> None:
    alarm = DrawerAlarm(alert_after_s=30)
    assert alarm.observe(CLOSED, 0) is None
    assert alarm.observe(OPEN, 10) is None
    assert alarm.observe(OPEN, 39.9) is None
    raised = alarm.observe(OPEN, 40)
    assert raised == DrawerAlert(True, 30, "The cash drawer has been open for 30 seconds; close it.")
    assert alarm.observe(OPEN, 70) is None  # raised once, not every poll
    assert alarm.observe(CLOSED, 71) == DrawerAlert(False, 61, "The cash drawer is closed again.")
    assert alarm.observe(CLOSED, 72) is None


def test_closing_in_time_never_alerts_and_restarts_the_clock() -> None:
    alarm = DrawerAlarm(alert_after_s=30)
    assert [alarm.observe(s, t) for s, t in [(OPEN, 0), (CLOSED, 29), (OPEN, 31), (OPEN, 60)]] == [None] * 4
    assert alarm.observe(OPEN, 61) is not None


def test_unknown_readings_neither_close_nor_open_the_drawer() -> None:
    alarm = DrawerAlarm(alert_after_s=5)
    assert alarm.observe(UNKNOWN, 0) is None
    assert alarm.opened_at is None
    alarm.observe(OPEN, 1)
    assert alarm.observe(UNKNOWN, 10) is None  # the printer went silent: no alert from silence
    assert alarm.opened_at == 1
    assert alarm.observe(OPEN, 11) is not None  # still open since 1
    assert alarm.observe(UNKNOWN, 12) is None
    assert alarm.alerting  # silence does not clear it either


@pytest.mark.parametrize("seconds", [0, -1])
def test_alert_time_must_be_positive(seconds: float) -> None:
    with pytest.raises(ConfigurationError, match="more than 0 seconds"):
        DrawerAlarm(seconds)


def test_monitor_polls_the_printer_on_its_worker_and_alerts() -> None:
    alerts: list[DrawerAlert] = []
    changed = threading.Condition()

    def on_alert(alert: DrawerAlert) -> None:
        with changed:
            alerts.append(alert)
            changed.notify_all()

    with FakeNetworkPrinter(status={1: PIN3_HIGH}) as fake, DeviceWorker("receipt printer") as worker:
        drawer = PrinterDrawer(open_printer(f"tcp:127.0.0.1:{fake.port}"), open_when_high=True)
        monitor = DrawerMonitor(drawer, worker, on_alert, alert_after_s=0.05, interval_s=0.01)
        monitor.start()
        try:
            with changed:
                assert changed.wait_for(lambda: len(alerts) == 1, timeout=5)
            assert alerts[0].raised
            assert alerts[0].open_for_s >= 0.05
            fake.status[1] = PIN3_LOW  # the cashier closes the drawer
            with changed:
                assert changed.wait_for(lambda: len(alerts) == 2, timeout=5)
            assert not alerts[1].raised
            assert monitor.state is Drawer.CLOSED
        finally:
            monitor.stop()


def test_monitor_poll_with_a_fake_clock_and_a_broken_listener(serial_drawer: FakeSerialDrawer) -> None:
    now = [0.0]
    drawer = open_drawer(f"serial:{serial_drawer.url}")

    def broken(alert: DrawerAlert) -> None:
        raise RuntimeError("listener bug")

    with DeviceWorker("cash drawer") as worker:
        monitor = DrawerMonitor(drawer, worker, broken, alert_after_s=30, clock=lambda: now[0])
        drawer.open()
        serial_drawer.wait_for_kicks(1)
        assert monitor.poll() is Drawer.OPEN
        now[0] = 31
        assert monitor.poll() is Drawer.OPEN  # the listener raised; the monitor goes on
        assert monitor.alarm.alerting
    drawer.close()
