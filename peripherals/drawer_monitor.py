"""The "drawer left open" alert: a pure timer over sensor readings, and a poller feeding it from the device.

``DrawerAlarm`` decides from a stream of ``(state, time)`` observations alone, so its rules are
tested with plain numbers: the alert rises once the drawer has been seen open for
``alert_after_s`` seconds without a closed reading in between, and clears at the first closed
reading after that. An ``UNKNOWN`` reading (sensor silent, printer off) changes nothing: neither
proof that the drawer was closed nor that it is still open.

``DrawerMonitor`` asks the drawer on the device's ``DeviceWorker`` every ``interval_s`` (so a
status poll queues behind a receipt on the same printer instead of interleaving with it) and
calls ``on_alert`` on its own thread; hop to the UI thread before touching widgets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from peripherals.drawer import CashDrawer
from peripherals.errors import ConfigurationError, DeviceClosed
from peripherals.printer_status import Drawer
from peripherals.worker import DeviceWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DrawerAlert:
    """``raised``: the alert turned on (True) or off (False); ``message`` is for the screen."""

    raised: bool
    open_for_s: float
    message: str


class DrawerAlarm:
    """The "left open" rule, fed with observations; knows nothing of devices or clocks."""

    def __init__(self, alert_after_s: float = 30.0) -> None:
        if not alert_after_s > 0:
            raise ConfigurationError("The drawer alert time must be more than 0 seconds, e.g. 30.")
        self.alert_after_s = alert_after_s
        self.opened_at: float | None = None
        self.alerting = False

    def observe(self, state: Drawer, now: float) -> DrawerAlert | None:
        """Take one reading; returns an alert when the alert turns on or off, else None."""
        if state is Drawer.CLOSED:
            open_for = 0.0 if self.opened_at is None else now - self.opened_at
            self.opened_at = None
            if self.alerting:
                self.alerting = False
                return DrawerAlert(False, open_for, "The cash drawer is closed again.")
            return None
        if state is Drawer.OPEN:
            if self.opened_at is None:
                self.opened_at = now
            open_for = now - self.opened_at
            if not self.alerting and open_for >= self.alert_after_s:
                self.alerting = True
                seconds = f"{open_for:.0f} second{'' if round(open_for) == 1 else 's'}"
                return DrawerAlert(True, open_for, f"The cash drawer has been open for {seconds}; close it.")
        return None


class DrawerMonitor:
    """Polls ``drawer.status()`` through ``worker`` and reports alerts to ``on_alert``."""

    def __init__(
        self,
        drawer: CashDrawer,
        worker: DeviceWorker,
        on_alert: Callable[[DrawerAlert], None],
        *,
        alert_after_s: float = 30.0,
        interval_s: float = 1.0,
        poll_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval_s > 0:
            raise ConfigurationError("The drawer poll interval must be more than 0 seconds, e.g. 1.")
        self.drawer = drawer
        self.worker = worker
        self.on_alert = on_alert
        self.alarm = DrawerAlarm(alert_after_s)
        self.interval_s = interval_s
        self.poll_timeout_s = poll_timeout_s
        self.clock = clock
        self.state = Drawer.UNKNOWN
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> Drawer:
        """Read the drawer once (through the worker) and update the alarm; returns what it read.

        Raises:
            DeviceClosed: the worker was closed.
        """
        try:
            state = self.worker.submit(self.drawer.status).result(timeout=self.poll_timeout_s)
        except FutureTimeout:
            log.info("%s: status poll timed out", self.drawer.describe())
            state = Drawer.UNKNOWN
        self.state = state
        alert = self.alarm.observe(state, self.clock())
        if alert is not None:
            log.info("%s: %s", self.drawer.describe(), alert.message)
            try:
                self.on_alert(alert)
            except Exception:  # a broken listener must not stop the monitor
                log.exception("drawer alert listener failed")
        return state

    def start(self) -> None:
        """Poll now and then every ``interval_s`` on a thread named ``drawer-monitor``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="drawer-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_timeout_s + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except DeviceClosed:
                log.info("drawer monitor stops: the device worker was closed")
                return
            self._stop.wait(self.interval_s)  # the poll period; stop() cuts it short
