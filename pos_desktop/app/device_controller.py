"""``DeviceController``: starts the lane's device work and reports back through the ``DeviceBridge``.

Called from the GUI thread only; every method returns at once. Blocking device calls run on
each device's ``DeviceWorker``; the waiting between them (weighing until steady, printing the
queue once the printer is back, a card payment) runs as coroutines on the loop thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from peripherals.errors import PeripheralError
from peripherals.payment import TerminalBusy, TerminalTimeouts
from pos_core.catalogue import Product
from pos_core.receipt import ReceiptRow
from pos_desktop.app.device_bridge import DeviceBridge
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.lane.customer_display import Screen
from pos_desktop.lane.devices import LaneDevices
from pos_desktop.lane.weighing import POLL_INTERVAL_S, WEIGH_TIMEOUT_S, Weighing, judge

logger = logging.getLogger(__name__)

PRINT_RETRY_S = 0.25
"""How often a waiting print queue is offered to the printer again (pos bench devices measures the same)."""


@dataclass(frozen=True, slots=True)
class DeviceTimings:
    """How long the register waits for its devices; tests make them short."""

    print_retry_s: float = PRINT_RETRY_S
    weigh_timeout_s: float = WEIGH_TIMEOUT_S
    weigh_poll_s: float = POLL_INTERVAL_S
    drawer_poll_s: float = 1.0
    terminal: TerminalTimeouts = TerminalTimeouts()  # noqa: RUF009 -- frozen, so one shared default is safe


class DeviceController:
    """Owns the lane's devices; their events reach the window through ``bridge``."""

    def __init__(
        self,
        bridge: DeviceBridge,
        loop: LoopThread,
        devices: LaneDevices,
        timings: DeviceTimings = DeviceTimings(),
    ) -> None:
        self.bridge = bridge
        self.devices = devices
        self._loop = loop
        self._print_retry_s = timings.print_retry_s
        self._weigh_timeout_s = timings.weigh_timeout_s
        self._weigh_poll_s = timings.weigh_poll_s
        self._weighings = itertools.count(1)
        self._current_weighing = 0
        self._retrying: concurrent.futures.Future[None] | None = None
        self._card: concurrent.futures.Future[None] | None = None
        self._unwatch = [bridge.watch(device) for device in devices.models()]

    def start(self) -> None:
        """Settle card payments a crash left open, print what waits, watch the drawer, read the scanner."""
        if self.devices.card is not None:
            self._submit(self._recover_card())
        if self.devices.printer is not None and self.devices.printer.waiting():
            self._retry_printing()
        if self.devices.drawer_monitor is not None:
            self.devices.drawer_monitor.start()
        if self.devices.scanner is not None:
            self.devices.scanner.claim()  # starts reading its port; scans arrive as ``scanned``
            self.devices.scanner.enable()

    def shutdown(self) -> None:
        """Stop the device threads; a receipt still queued stays on disk for the next start."""
        for unwatch in self._unwatch:
            unwatch()
        if self.devices.card is not None and self._card is not None and not self._card.done():
            self.devices.card.cancel()  # never leave the customer's card waiting on a closed register
        self.devices.close()

    # -- scale ---------------------------------------------------------------------------------
    def weigh(self, product: Product) -> Weighing:
        """Ask the scale until the weight is steady; each answer comes as ``weight_read``."""
        weighing = Weighing(next(self._weighings), product)
        self._current_weighing = weighing.number
        if self.devices.scale is None:
            self.bridge.weighing_failed.emit(
                weighing, f"This register has no scale, so {product.name} cannot be sold; ask a manager."
            )
        else:
            self._submit(self._weigh(weighing))
        return weighing

    def cancel_weighing(self) -> None:
        self._current_weighing = 0

    async def _weigh(self, weighing: Weighing) -> None:
        assert self.devices.scale is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._weigh_timeout_s
        said = ""
        while self._current_weighing == weighing.number:
            try:
                reading = await asyncio.wrap_future(self.devices.scale.read(weighing.product.tare_grams))
            except PeripheralError as exc:
                self.bridge.weighing_failed.emit(weighing, str(exc))
                return
            verdict = judge(reading, weighing.product)
            if self._current_weighing != weighing.number:
                return
            if verdict.sellable or verdict.sentence != said:  # say each new reason once
                self.bridge.weight_read.emit(weighing, verdict)
                said = verdict.sentence
            if verdict.sellable:
                return
            if loop.time() >= deadline:
                self.bridge.weighing_failed.emit(
                    weighing, f"{verdict.sentence} Weighing stopped; scan the item again when the scale is ready."
                )
                return
            await asyncio.sleep(self._weigh_poll_s)

    # -- customer display ----------------------------------------------------------------------
    def show(self, screen: Screen) -> None:
        """Show two lines on the customer display, if there is one; failures arrive as ``device_failed``."""
        if self.devices.display is not None:
            self.devices.display.show(screen)

    # -- receipt printer and drawer ------------------------------------------------------------
    def print_receipt(self, rows: Sequence[ReceiptRow], *, cash: bool) -> None:
        """Print the receipt through the queue; a cash sale opens the drawer."""
        printer, serial_drawer = self.devices.printer, self.devices.serial_drawer
        if cash and serial_drawer is not None:
            serial_drawer.open()
        if printer is None:
            return
        with_drawer = cash and serial_drawer is None and self.devices.drawer_on_printer
        self._submit(self._print(list(rows), with_drawer))

    async def _print(self, rows: list[ReceiptRow], with_drawer: bool) -> None:
        assert self.devices.printer is not None
        outcome = await asyncio.wrap_future(self.devices.printer.print_receipt(rows, open_drawer=with_drawer))
        self.bridge.printing_changed.emit(outcome)
        if outcome.waiting:
            self._retry_printing()

    def _retry_printing(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = self._submit(self._print_waiting())

    async def _print_waiting(self) -> None:
        assert self.devices.printer is not None
        while True:
            await asyncio.sleep(self._print_retry_s)
            outcome = await asyncio.wrap_future(self.devices.printer.retry())
            self.bridge.printing_changed.emit(outcome)
            if not outcome.waiting:
                return

    # -- card terminal -------------------------------------------------------------------------
    def pay_by_card(self, amount: int, currency: str, sale_ref: str) -> None:
        """Ask the terminal for ``amount``; prompts come as ``card_prompted``, the end as
        ``card_payment_finished`` (or ``card_payment_failed`` when nothing was charged)."""
        self._card = self._submit(self._pay(amount, currency, sale_ref))

    def cancel_card_payment(self) -> None:
        """Ask the terminal to cancel; the payment's own answer says how it ended."""
        if self.devices.card is not None:
            self._submit(self._cancel_card())

    def check_card_payment(self) -> None:
        """Ask the terminal what became of an unsettled payment (``card_payments_settled``)."""
        if self.devices.card is not None:
            self._submit(self._recover_card())

    def settle_card_payment_by_hand(self, intent_id: str, *, charged: bool, note: str) -> None:
        """Record what a person read on the terminal's own journal for an unknown payment."""
        if self.devices.card is not None:
            self._submit(self._resolve(intent_id, charged, note))

    async def _pay(self, amount: int, currency: str, sale_ref: str) -> None:
        card = self.devices.card
        if card is None:
            self.bridge.card_payment_failed.emit("This register has no card terminal; take cash.", None)
            return
        try:
            result = await asyncio.wrap_future(card.pay(amount, currency, sale_ref, self.bridge.card_prompted.emit))
        except TerminalBusy as exc:
            self.bridge.card_payment_failed.emit(str(exc), exc.intent)
            return
        except PeripheralError as exc:
            self.bridge.card_payment_failed.emit(str(exc), None)
            return
        self.bridge.card_payment_finished.emit(result)

    async def _cancel_card(self) -> None:
        assert self.devices.card is not None
        await asyncio.to_thread(self.devices.card.cancel)  # its own connection: the worker waits for the card

    async def _recover_card(self) -> None:
        assert self.devices.card is not None
        try:
            results = await asyncio.wrap_future(self.devices.card.recover())
        except PeripheralError as exc:
            self.bridge.device_failed.emit("card terminal", str(exc))
            return
        self.bridge.card_payments_settled.emit(results)

    async def _resolve(self, intent_id: str, charged: bool, note: str) -> None:
        assert self.devices.card is not None
        try:
            result = await asyncio.wrap_future(self.devices.card.resolve(intent_id, charged=charged, note=note))
        except PeripheralError as exc:
            self.bridge.device_failed.emit("card terminal", str(exc))
            return
        self.bridge.card_payments_settled.emit([result])

    def _submit(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        future = self._loop.submit(coro)
        future.add_done_callback(_log_failure)
        return future


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        logger.error("device work failed", exc_info=exc)
