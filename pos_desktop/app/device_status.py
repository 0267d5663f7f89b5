"""``DeviceStatus``: the lane's scale, customer display and card terminal in one status-bar line; no widgets.

The receipt printer has its own line (its queue matters to the cashier); everything else is
"ready" or the most recent thing that went wrong, in the driver's own sentence, until that
device works again.
"""

from __future__ import annotations

from peripherals.printer_status import Health

RECEIPT_PRINTER = "receipt printer"


class DeviceStatus:
    """Args: ``names`` of the devices set up; ``problems`` met while setting devices up (lane.json)."""

    def __init__(self, names: list[str], problems: list[str]) -> None:
        self.names = [n for n in names if n != RECEIPT_PRINTER]
        self._setup = list(problems)
        self._failing: dict[str, str] = {}

    def failed(self, device: str, sentence: str) -> None:
        if device != RECEIPT_PRINTER:
            self._failing.pop(device, None)
            self._failing[device] = sentence  # the newest last

    def health_changed(self, device: str, health: Health) -> None:
        if health is Health.ONLINE:
            self._failing.pop(device, None)

    def line(self) -> tuple[str, bool]:
        """The words and whether all is well; empty words when the lane has none of these devices."""
        if self._failing:
            device, sentence = list(self._failing.items())[-1]
            return f"{device.capitalize()}: {sentence}", False
        if self._setup:
            return self._setup[-1], False
        if not self.names:
            return "", True
        return f"{', '.join(self.names).capitalize()}: ready", True
