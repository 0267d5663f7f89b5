"""Python's cyclic garbage collector, run only on the GUI thread.

Automatic collection runs on whichever thread happens to allocate. If it frees a cycle
holding Qt objects on the asyncio or device thread, Qt destroys widgets off the GUI thread
and the process crashes at random. So automatic collection is switched off and this timer
collects on the GUI thread, generation by generation, as the thresholds would have.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadCollector(QObject):
    """Owns the process's garbage collection while the app runs; ``stop()`` hands it back."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> None:
        count0, count1, count2 = gc.get_count()
        limit0, limit1, limit2 = self._thresholds
        if count2 > limit2 or count1 > limit1:
            gc.collect()
        elif count0 > limit0:
            gc.collect(0)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        gc.enable()
