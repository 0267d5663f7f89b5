"""The device model every lane device shares: lifecycle, health, numbered events, counters.

Lifecycle, as in UnifiedPOS: ``open`` (the setting is known) -> ``claim`` (this register owns the
device) -> ``enable`` (it may be used) ... ``disable`` -> ``release`` -> ``close``. Operations run
through ``run()`` only while enabled; each outcome updates the counters and the health
(``ONLINE`` after a success, ``OFF`` when the device cannot be reached, ``OFFLINE`` when it
answers but cannot work), and every change is an event with a per-device sequence number, so a
screen can tell it missed one.

Listeners are called on the thread that caused the change (usually the device's
``DeviceWorker``); the register hops to its own thread before touching widgets.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from peripherals.errors import ConfigurationError, DeviceClosed, DeviceUnavailable, PeripheralError
from peripherals.printer_status import Health

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class DeviceState(enum.Enum):
    CLOSED = "closed"
    OPENED = "opened"
    CLAIMED = "claimed"
    ENABLED = "enabled"


class EventKind(enum.Enum):
    STATE = "state"  # lifecycle changed; detail is the new state
    HEALTH = "health"  # health changed; detail is the new health
    ERROR = "error"  # an operation failed; detail is the sentence for the cashier
    DATA = "data"  # the device produced input by itself (a scan); detail says what, data carries it


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    device: str
    sequence: int
    kind: EventKind
    detail: str
    data: object = None
    """What a ``DATA`` event delivers (a ``peripherals.wedge.Scan``); None for the other kinds."""


@dataclass(frozen=True, slots=True)
class DeviceCounters:
    operations: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None


_ORDER = [DeviceState.CLOSED, DeviceState.OPENED, DeviceState.CLAIMED, DeviceState.ENABLED]
_STEP_NAMES = {
    DeviceState.OPENED: "opened",
    DeviceState.CLAIMED: "claimed",
    DeviceState.ENABLED: "enabled",
}


class Device:
    """Lifecycle, health, events and counters for one named device (``"receipt printer"``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._state = DeviceState.CLOSED
        self._health = Health.UNKNOWN
        self._sequence = 0
        self._counters = DeviceCounters()
        self._listeners: list[Callable[[DeviceEvent], None]] = []

    # -- observation ---------------------------------------------------------------------------
    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def health(self) -> Health:
        return self._health

    @property
    def counters(self) -> DeviceCounters:
        return self._counters

    def subscribe(self, listener: Callable[[DeviceEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- lifecycle -----------------------------------------------------------------------------
    def open(self) -> None:
        self._step(DeviceState.CLOSED, DeviceState.OPENED)

    def claim(self) -> None:
        self._step(DeviceState.OPENED, DeviceState.CLAIMED)

    def enable(self) -> None:
        self._step(DeviceState.CLAIMED, DeviceState.ENABLED)

    def disable(self) -> None:
        self._step(DeviceState.ENABLED, DeviceState.CLAIMED)

    def release(self) -> None:
        self._step(DeviceState.CLAIMED, DeviceState.OPENED)

    def close(self) -> None:
        """Close from any state, disabling and releasing on the way (shutdown must always work)."""
        with self._lock:
            while self._state is not DeviceState.CLOSED:
                self._set_state(_ORDER[_ORDER.index(self._state) - 1])

    def _step(self, expected: DeviceState, new: DeviceState) -> None:
        with self._lock:
            if self._state is not expected:
                needed = _STEP_NAMES.get(expected, "closed")
                raise PeripheralError(f"The {self.name} must be {needed} first; it is {self._state.value}.")
            self._set_state(new)

    def _set_state(self, new: DeviceState) -> None:
        self._state = new
        self._emit(EventKind.STATE, new.value)

    # -- operations ----------------------------------------------------------------------------
    def set_health(self, health: Health) -> None:
        """Record a health observed from outside (a status poll); emits an event on change only."""
        with self._lock:
            if health is not self._health:
                self._health = health
                self._emit(EventKind.HEALTH, health.value)

    def run(self, operation: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``operation`` as this device's work, keeping counters, health and events true.

        Raises:
            PeripheralError: the device is not enabled, or the operation failed (re-raised after
                it was counted and reported as an ``ERROR`` event).
        """
        if self._state is not DeviceState.ENABLED:
            raise PeripheralError(f"The {self.name} is not enabled; it is {self._state.value}.")
        try:
            result = operation(*args, **kwargs)
        except PeripheralError as exc:
            self.report_failure(exc)
            raise
        self._succeeded()
        return result

    def deliver(self, detail: str, data: object) -> bool:
        """Input the device produced by itself (a scan): a ``DATA`` event, counted as an operation.

        Returns False, and drops the input, unless the device is enabled (UnifiedPOS delivers data
        only then: a code scanned while the register is not ready must not ring up later).
        """
        with self._lock:
            if self._state is not DeviceState.ENABLED:
                log.info("%s: not enabled, dropped %s", self.name, detail)
                return False
            self._emit(EventKind.DATA, detail, data)
            self._succeeded()
        return True

    def report_failure(self, exc: PeripheralError) -> None:
        """Count a failure and emit its ``ERROR`` event, with the health it implies.

        ``run()`` calls this; a device that works by itself (a scanner's reader) calls it for what
        goes wrong outside an operation (garbage on the line, a port that vanished).
        """
        with self._lock:
            c = self._counters
            self._counters = DeviceCounters(c.operations + 1, c.failures + 1, c.consecutive_failures + 1, str(exc))
            self._emit(EventKind.ERROR, str(exc))
            if isinstance(exc, DeviceUnavailable):
                self.set_health(Health.OFF)
            elif not isinstance(exc, ConfigurationError | DeviceClosed):  # our mistake, not the device's
                self.set_health(Health.OFFLINE)

    def _succeeded(self) -> None:
        with self._lock:
            c = self._counters
            self._counters = DeviceCounters(c.operations + 1, c.failures, 0, c.last_error)
            self.set_health(Health.ONLINE)

    def _emit(self, kind: EventKind, detail: str, data: object = None) -> None:
        self._sequence += 1
        event = DeviceEvent(self.name, self._sequence, kind, detail, data)
        log.info("%s event %d: %s %s", self.name, event.sequence, kind.value, detail)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the device
                log.exception("listener of %s failed on event %d", self.name, event.sequence)
