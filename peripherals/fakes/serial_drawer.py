"""A cash drawer with its own serial interface, on a pseudo-terminal, with a sensor line you control.

The drawer opens when the opening sequence (default BEL, 07) arrives, like an APG SerialPRO
interface; ``shut()`` is a cashier closing it by hand. A pty has no modem lines, so the sensor is
reached through a pyserial URL handler: open ``serial:{fake.url}`` (``fakedrawer://N``) and the
port is the pty, with ``cts``/``dsr``/``ri``/``cd`` reading the drawer's switch as wired by
``sensor`` and ``open_when_high``. POSIX only.
"""

from __future__ import annotations

import itertools
import threading

import serial

from peripherals.fakes.pty_device import PtyDevice

_SERIAL_NUMBERS = itertools.count(1)
_DRAWERS: dict[str, FakeSerialDrawer] = {}
_HANDLERS = "peripherals.fakes"  # pyserial finds peripherals.fakes.protocol_fakedrawer by the URL scheme

if _HANDLERS not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(_HANDLERS)


class FakeSerialDrawer(PtyDevice):
    def __init__(
        self,
        *,
        kick: bytes = b"\x07",
        sensor: str | None = "cts",
        open_when_high: bool = True,
        line_timing: bool = True,
    ) -> None:
        self.kick = kick
        self.sensor = sensor
        self.open_when_high = open_when_high
        self.is_open = False
        self.kicks = 0
        self._changed = threading.Condition()
        super().__init__("fake-serial-drawer", line_timing=line_timing)
        self.url = f"fakedrawer://{next(_SERIAL_NUMBERS)}"
        _DRAWERS[self.url] = self

    def close(self) -> None:
        _DRAWERS.pop(self.url, None)
        super().close()

    def shut(self) -> None:
        """The cashier pushes the drawer closed."""
        with self._changed:
            self.is_open = False

    def line(self, name: str) -> bool:
        """The level of modem line ``name`` as the host reads it."""
        with self._changed:
            if name != self.sensor:
                return False
            return self.is_open == self.open_when_high

    def wait_for_kicks(self, count: int, timeout: float = 5.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.kicks >= count, timeout):
                raise TimeoutError(f"fake drawer got {self.kicks} of {count} opening sequences")

    def _handle(self, pending: bytes) -> bytes:
        while (i := pending.find(self.kick)) >= 0:
            pending = pending[i + len(self.kick) :]
            with self._changed:
                self.kicks += 1
                self.is_open = True
                self._changed.notify_all()
        keep = len(self.kick) - 1  # a sequence split across two reads
        return pending[-keep:] if keep else b""


def find_drawer(url: str) -> FakeSerialDrawer:
    try:
        return _DRAWERS[url.lower()]
    except KeyError:
        raise ValueError(f"no fake drawer at {url}") from None
