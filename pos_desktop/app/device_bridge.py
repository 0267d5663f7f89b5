"""``DeviceBridge``: what the lane's devices did, as typed Qt signals on the GUI thread.

Device threads (a ``DeviceWorker``, the drawer monitor) and coroutines emit these; the bridge
lives on the GUI thread, so Qt queues each emission to the window's slots there. Payloads are
immutable value objects. No device code imports Qt: this is where their events become signals.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from peripherals.device import Device, DeviceEvent, EventKind
from peripherals.printer_status import Health
from peripherals.wedge import Scan


class DeviceBridge(QObject):
    """Past-tense signals of the lane's devices."""

    health_changed = Signal(str, object)
    """Device name, ``Health``: a device came online or went off."""
    device_failed = Signal(str, str)
    """Device name, the driver's sentence: an operation failed."""
    weight_read = Signal(object, object)
    """``Weighing``, ``Verdict``: the scale answered (steady and chargeable, or why not yet)."""
    weighing_failed = Signal(object, str)
    """``Weighing``, a sentence: the scale did not answer, or never settled; weighing stopped."""
    printing_changed = Signal(object)
    """``PrintOutcome``: a receipt printed, or waits in the queue and why."""
    drawer_alerted = Signal(object)
    """``DrawerAlert``: the drawer was left open, or closed again after that."""
    card_prompted = Signal(object)
    """``Prompt`` from the card terminal ("insert card", "enter PIN")."""
    card_payment_finished = Signal(object)
    """``PaymentResult``: approved, declined, cancelled or unknown."""
    card_payment_failed = Signal(str, object)
    """A sentence, and the unsettled ``PaymentIntent`` that blocks the terminal (or None): nothing was charged."""
    card_payments_settled = Signal(object)
    """``list[PaymentResult]``: what asking the terminal (or a person) settled."""
    scanned = Signal(object)
    """``Scan``: a serial scanner read a code (route it with ``ScanRouter.route``)."""

    def watch(self, device: Device) -> Callable[[], None]:
        """Turn ``device``'s events into ``health_changed``, ``device_failed`` and ``scanned``; returns unsubscribe."""
        return device.subscribe(self._device_event)

    def _device_event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.ERROR:
            self.device_failed.emit(event.device, event.detail)
        elif event.kind is EventKind.HEALTH:
            self.health_changed.emit(event.device, Health(event.detail))
        elif event.kind is EventKind.DATA and isinstance(event.data, Scan):
            self.scanned.emit(event.data)
