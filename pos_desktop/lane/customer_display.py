"""The customer display: what it shows at each step of a sale, and the display on its own thread.

Two lines of 20 characters. Amounts are plain numbers with the currency code on the total, so
the text reads the same on an Epson display (which has the euro sign) and a CD5220 (which has
not). Each ``show`` sends only what changed (``peripherals.line_display``).
"""

from __future__ import annotations

import concurrent.futures
import textwrap

from peripherals.device import Device
from peripherals.errors import ConfigurationError
from peripherals.lane_config import DisplaySettings
from peripherals.line_display import WIDTH, LineDisplay, open_display
from peripherals.worker import DeviceWorker
from pos_core.basket import BasketLine
from pos_core.money import format_amount
from pos_core.sale import Sale

Screen = tuple[str, str]


def pair(left: str, right: str, width: int = WIDTH) -> str:
    """``left`` and ``right`` on one line of ``width``; ``left`` is cut to make room."""
    room = width - len(right) - 1
    if room < 1:
        return right[-width:]
    return left[:room].ljust(room) + " " + right


def idle_screen(store_name: str) -> Screen:
    """Two centred lines saying "Welcome to <store>", broken between words."""
    lines = textwrap.wrap(f"Welcome to {store_name}", WIDTH)
    if len(lines) != 2:
        lines = [store_name[:WIDTH], "Welcome!"]
    return (lines[0].center(WIDTH).rstrip(), lines[1].center(WIDTH).rstrip())


def item_screen(line: BasketLine, total: int, currency: str) -> Screen:
    """The item just rung up with its amount, and the running total."""
    return (pair(line.product.name, format_amount(line.amount, currency)), total_line(total, currency))


def total_line(total: int, currency: str) -> str:
    return pair("Total", f"{currency} {format_amount(total, currency)}")


def due_screen(total: int, currency: str) -> Screen:
    return ("Please pay", total_line(total, currency))


def paid_screen(sale: Sale) -> Screen:
    """What was handed over and the change, or a thank-you when nothing comes back."""
    cur = sale.currency
    kinds = {t.kind for t in sale.tenders}
    label = "Card and cash" if kinds == {"card", "cash"} else "Card" if kinds == {"card"} else "Cash"
    upper = pair(label, format_amount(sale.tendered, cur))
    if "cash" in kinds:
        return (upper, pair("Change", format_amount(sale.change, cur)))
    return (upper, "Thank you!")


class DisplayStation:
    """The lane's customer display, written on its own ``DeviceWorker``.

    Raises:
        ConfigurationError: the settings name an unknown protocol or address.
    """

    def __init__(self, settings: DisplaySettings) -> None:
        if settings.protocol not in ("epson", "cd5220"):
            raise ConfigurationError(
                f"The display protocol {settings.protocol!r} is not supported; use epson or cd5220."
            )
        self.display: LineDisplay = open_display(settings.target, "epson" if settings.protocol == "epson" else "cd5220")
        self.device = Device("customer display")
        self.device.open()
        self.device.claim()
        self.device.enable()
        self.worker = DeviceWorker("customer-display")

    def show(self, screen: Screen) -> concurrent.futures.Future[None]:
        """Show two lines; a failure is in the future and in the device's events, and the next show rewrites all."""
        upper, lower = screen
        return self.worker.submit(self.device.run, self.display.show, upper, lower)

    def close(self) -> None:
        self.worker.close()
        self.device.close()
