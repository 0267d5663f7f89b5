"""The root exception of the peripherals package, and the failures a cashier can act on.

Every message is a whole sentence naming the device and what to check, e.g.
"The receipt printer at 127.0.0.1:9100 does not answer; check it is on and connected."
Adapters turn ``OSError``/``serial.SerialException`` into these at the boundary.
"""

from __future__ import annotations


class PeripheralError(Exception):
    """Root of every error raised by ``peripherals``; the message is a sentence to show as is."""


class ConfigurationError(PeripheralError):
    """A device setting (target string, pin, pulse time, code page) is not one we accept."""


class DeviceUnavailable(PeripheralError):
    """The device cannot be reached: off, unplugged, wrong address, or not answering in time."""


class DeviceClosed(PeripheralError):
    """The device or its worker was closed; open it again before using it."""
