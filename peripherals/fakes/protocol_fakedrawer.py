"""pyserial URL handler for ``fakedrawer://N``: the fake drawer's pty, with modem lines from the fake.

pyserial imports ``<package>.protocol_<scheme>`` for ``scheme://`` URLs from the packages in
``serial.protocol_handler_packages``; ``peripherals.fakes.serial_drawer`` registers this package.
"""

from __future__ import annotations

import serial

from peripherals.fakes.serial_drawer import find_drawer


def serial_class_for_url(url: str) -> tuple[str, type[serial.Serial]]:
    drawer = find_drawer(url)

    class WiredToFakeDrawer(serial.Serial):  # type: ignore[misc]  # pyserial has no type information
        @property
        def cts(self) -> bool:
            return drawer.line("cts")

        @property
        def dsr(self) -> bool:
            return drawer.line("dsr")

        @property
        def ri(self) -> bool:
            return drawer.line("ri")

        @property
        def cd(self) -> bool:
            return drawer.line("cd")

    return drawer.device, WiredToFakeDrawer
