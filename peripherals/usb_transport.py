"""A USB printer spoken to directly through pyusb and libusb: no kernel printer driver, no CUPS.

Each call finds the device by vendor and product id, claims its interface, writes (and for a
status question reads) on its bulk endpoints, and releases everything again, like the other
transports: a printer that was unplugged works again on the next job. The bulk endpoints are
found from the interface descriptor unless ``out_ep``/``in_ep`` name them.

python-escpos 3.1's ``Usb`` printer was considered and not used: it keeps a device field that may
be ``False``, ``None`` or a device, logs to the root logger, and raises its own exceptions.

On Linux the ``usblp`` kernel driver claims a USB printer as ``/dev/usb/lp0``; this transport
detaches it for the job (``file:/dev/usb/lp0`` is the alternative that keeps it). The user
running the register needs access to the device node (a udev rule; see docs/peripherals.md).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from peripherals.errors import ConfigurationError, DeviceUnavailable

log = logging.getLogger(__name__)

_BULK = 0x02
_DIRECTION_IN = 0x80
_PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM)


def _pyusb(device: str) -> Any:
    """``usb.core`` and ``usb.util``, or the sentence saying pyusb is missing."""
    try:
        import usb.core
        import usb.util
    except ImportError as exc:
        raise DeviceUnavailable(
            f"The {device} is on USB, which needs the pyusb package; install unified-pos with its usb "
            "extra, or use a tcp:, serial: or cups: address."
        ) from exc
    return usb


@dataclass(frozen=True, slots=True)
class UsbTransport:
    """A device on USB ``vendor_id:product_id``; ``backend`` is a pyusb backend (None: libusb)."""

    vendor_id: int
    product_id: int
    interface: int = 0
    in_ep: int | None = None
    out_ep: int | None = None
    device: str = "receipt printer"
    timeout_ms: int = 10_000
    backend: object | None = None

    def describe(self) -> str:
        return f"on USB {self.vendor_id:04x}:{self.product_id:04x}"

    def send(self, data: bytes) -> None:
        with self._claimed() as (usb, dev, out_ep, _in_ep):
            self._write(usb, dev, out_ep, data)
        log.debug("sent %d bytes to %s %s", len(data), self.device, self.describe())

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        with self._claimed() as (usb, dev, out_ep, in_ep):
            self._write(usb, dev, out_ep, data)
            if in_ep is None:
                return b""  # a one-way device: its status stays unknown
            reply = bytearray()
            deadline = time.monotonic() + timeout
            while len(reply) < reply_len:
                left_ms = int((deadline - time.monotonic()) * 1000)
                if left_ms <= 0:
                    break
                try:
                    chunk = dev.read(in_ep, 64, max(left_ms, 1))
                except usb.core.USBError:  # timeout or unplugged: what arrived is all there is
                    break
                reply += bytes(chunk)
            return bytes(reply[:reply_len])

    def _write(self, usb: Any, dev: Any, out_ep: int, data: bytes) -> None:
        try:
            written = dev.write(out_ep, data, self.timeout_ms)
        except usb.core.USBError as exc:
            log.info("%s %s: write failed: %s", self.device, self.describe(), exc)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} stopped taking data; "
                "check it is on, has paper and its cover is closed."
            ) from exc
        if written != len(data):
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} took only {written} of {len(data)} bytes; "
                "check it is on, has paper and its cover is closed."
            )

    @contextmanager
    def _claimed(self) -> Iterator[tuple[Any, Any, int, int | None]]:
        usb = _pyusb(self.device)
        dev = self._find(usb)
        try:
            out_ep, in_ep = self._endpoints(usb, dev)
            usb.util.claim_interface(dev, self.interface)
            yield usb, dev, out_ep, in_ep
        except usb.core.USBError as exc:
            raise self._unavailable(exc) from exc
        finally:
            try:
                usb.util.dispose_resources(dev)
            except usb.core.USBError:  # unplugged mid-job: nothing left to release
                log.debug("%s %s: release failed", self.device, self.describe())

    def _find(self, usb: Any) -> Any:
        try:
            dev = usb.core.find(idVendor=self.vendor_id, idProduct=self.product_id, backend=self.backend)
        except usb.core.NoBackendError as exc:
            raise DeviceUnavailable(
                f"The {self.device} is on USB, which needs libusb, and libusb is not installed on this computer; "
                "install libusb-1.0 (Debian/Ubuntu: apt install libusb-1.0-0), or use a tcp:, serial: or cups: address."
            ) from exc
        except usb.core.USBError as exc:
            raise self._unavailable(exc) from exc
        if dev is None:
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} is not connected; check its USB cable and that it is switched on."
            )
        return dev

    def _endpoints(self, usb: Any, dev: Any) -> tuple[int, int | None]:
        """The bulk OUT and IN endpoint addresses, detaching a kernel driver and configuring first."""
        try:
            if dev.is_kernel_driver_active(self.interface):
                dev.detach_kernel_driver(self.interface)
        except NotImplementedError:  # libusb0, Windows: no kernel driver to move aside
            pass
        try:
            config = dev.get_active_configuration()
        except usb.core.USBError:
            dev.set_configuration()
            config = dev.get_active_configuration()
        try:
            intf = config[(self.interface, 0)]
        except (IndexError, usb.core.USBError) as exc:
            raise ConfigurationError(
                f"The {self.device} {self.describe()} has no interface {self.interface}; "
                "leave interface= out to use the first one."
            ) from exc
        bulk = [ep.bEndpointAddress for ep in intf if ep.bmAttributes & 0x03 == _BULK]
        outs = [a for a in bulk if not a & _DIRECTION_IN]
        ins = [a for a in bulk if a & _DIRECTION_IN]
        out_ep = self.out_ep if self.out_ep is not None else (outs[0] if outs else None)
        in_ep = self.in_ep if self.in_ep is not None else (ins[0] if ins else None)
        if out_ep is None or out_ep not in outs or (self.in_ep is not None and self.in_ep not in ins):
            raise ConfigurationError(
                f"The {self.device} {self.describe()} has no such bulk endpoint on interface {self.interface}; "
                "leave in_ep and out_ep out to find them automatically."
            )
        return out_ep, in_ep

    def _unavailable(self, exc: Exception) -> DeviceUnavailable:
        log.info("%s %s: %s", self.device, self.describe(), exc)
        if getattr(exc, "errno", None) in _PERMISSION_ERRNOS:
            return DeviceUnavailable(
                f"This computer user may not use the {self.device} {self.describe()}; "
                "add the udev rule from docs/peripherals.md and plug the printer in again."
            )
        return DeviceUnavailable(
            f"The {self.device} {self.describe()} does not answer; check its USB cable and that it is switched on."
        )
