"""A pyusb backend with made-up devices, so the USB printer and USB detection run through real pyusb.

pyusb lets a caller pass any object implementing ``usb.backend.IBackend`` to ``usb.core.find``;
this one serves descriptors from ``FakeUsbDevice`` records and keeps what a printer would receive.
Nothing touches the machine's USB bus, and libusb need not be installed.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

_PRINTER_CLASS = 7
_BULK = 0x02


@dataclass
class FakeUsbDevice:
    """One device on the fake bus. ``answers`` is what its IN endpoint returns, once per read."""

    vendor_id: int
    product_id: int
    out_ep: int = 0x01
    in_ep: int | None = 0x82
    interface_class: int = _PRINTER_CLASS
    unplugged: bool = False
    kernel_driver: bool = True
    denied: bool = False
    received: bytearray = field(default_factory=bytearray)
    answers: list[bytes] = field(default_factory=list)
    claims: int = 0


class FakeUsbBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb has no type information
    """``usb.core.find(backend=FakeUsbBackend([...]))`` sees exactly these devices."""

    def __init__(self, devices: list[FakeUsbDevice]) -> None:
        self.devices = devices
        self._lock = threading.Lock()
        self._configured: set[int] = set()

    def _check(self, dev: FakeUsbDevice) -> None:
        if dev.unplugged:
            raise usb.core.USBError("No such device", -4, errno.ENODEV)

    # -- enumeration and descriptors -----------------------------------------------------------
    def enumerate_devices(self) -> Any:
        return iter([d for d in self.devices if not d.unplugged])

    def get_device_descriptor(self, dev: FakeUsbDevice) -> Any:
        index = self.devices.index(dev)
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0,
            bMaxPacketSize0=64, idVendor=dev.vendor_id, idProduct=dev.product_id, bcdDevice=0x0100,
            iManufacturer=0, iProduct=0, iSerialNumber=0, bNumConfigurations=1,
            address=index + 2, bus=1, port_number=index + 1, port_numbers=(index + 1,), speed=3,
        )  # fmt: skip

    def get_configuration_descriptor(self, dev: FakeUsbDevice, config: int) -> Any:
        if config != 0:
            raise IndexError("one configuration")
        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1, bConfigurationValue=1,
            iConfiguration=0, bmAttributes=0xC0, bMaxPower=50, extra_descriptors=[],
        )  # fmt: skip

    def get_interface_descriptor(self, dev: FakeUsbDevice, intf: int, alt: int, config: int) -> Any:
        if intf != 0 or alt != 0 or config != 0:
            raise IndexError("one interface, one setting")
        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0,
            bNumEndpoints=len(self._endpoints(dev)), bInterfaceClass=dev.interface_class, bInterfaceSubClass=1,
            bInterfaceProtocol=2, iInterface=0, extra_descriptors=[],
        )  # fmt: skip

    def get_endpoint_descriptor(self, dev: FakeUsbDevice, ep: int, intf: int, alt: int, config: int) -> Any:
        endpoints = self._endpoints(dev)
        if ep >= len(endpoints):
            raise IndexError("no such endpoint")
        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=endpoints[ep], bmAttributes=_BULK, wMaxPacketSize=64,
            bInterval=0, bRefresh=0, bSynchAddress=0, extra_descriptors=[],
        )  # fmt: skip

    @staticmethod
    def _endpoints(dev: FakeUsbDevice) -> list[int]:
        return [dev.out_ep] + ([dev.in_ep] if dev.in_ep is not None else [])

    # -- handles -------------------------------------------------------------------------------
    def open_device(self, dev: FakeUsbDevice) -> FakeUsbDevice:
        self._check(dev)
        if dev.denied:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        return dev

    def close_device(self, dev_handle: FakeUsbDevice) -> None:
        pass

    def set_configuration(self, dev_handle: FakeUsbDevice, config_value: int) -> None:
        self._configured.add(id(dev_handle))

    def get_configuration(self, dev_handle: FakeUsbDevice) -> int:
        if id(dev_handle) not in self._configured:
            raise usb.core.USBError("Configuration not set")
        return 1

    def claim_interface(self, dev_handle: FakeUsbDevice, intf: int) -> None:
        self._check(dev_handle)
        dev_handle.claims += 1

    def release_interface(self, dev_handle: FakeUsbDevice, intf: int) -> None:
        pass

    def is_kernel_driver_active(self, dev_handle: FakeUsbDevice, intf: int) -> bool:
        return dev_handle.kernel_driver

    def detach_kernel_driver(self, dev_handle: FakeUsbDevice, intf: int) -> None:
        dev_handle.kernel_driver = False

    # -- transfers -----------------------------------------------------------------------------
    def bulk_write(self, dev_handle: FakeUsbDevice, ep: int, intf: int, data: Any, timeout: int) -> int:
        self._check(dev_handle)
        with self._lock:
            dev_handle.received += bytes(data)
        return len(data)

    def bulk_read(self, dev_handle: FakeUsbDevice, ep: int, intf: int, buff: Any, timeout: int) -> int:
        self._check(dev_handle)
        with self._lock:
            if not dev_handle.answers:
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            answer = dev_handle.answers.pop(0)[: len(buff)]
        buff[: len(answer)] = type(buff)(buff.typecode, answer)
        return len(answer)
