"""``ReceiptStation``: the receipt printer, its print queue on disk and the drawer wired to it.

A receipt is written to the print queue (``DATA_DIR/print-queue``, ``peripherals.print_queue``)
before a byte is sent and deleted only once the printer took it. A printer that is off, out of
paper or unplugged therefore never loses one: it waits, the outcome says why in a sentence,
and ``retry()`` prints what waits, oldest first, when the printer is back. A receipt printed at
once carries the drawer kick in the same job; the copy kept on disk has none, so a receipt
printed later never opens the drawer by surprise.

Every call runs on the printer's own ``DeviceWorker`` thread and returns a future.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peripherals.device import Device
from peripherals.errors import DeviceUnavailable, PeripheralError
from peripherals.escpos_codec import DEFAULT_FORMAT, ReceiptFormat, drawer_kick, encode_receipt
from peripherals.print_queue import PrintQueue
from peripherals.printer import ReceiptPrinter, open_printer
from peripherals.printer_status import Health, Paper, PrinterStatus
from peripherals.worker import DeviceWorker
from pos_core.receipt import ReceiptLayout, ReceiptRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PrintOutcome:
    """Where printing stands after one step."""

    waiting: int
    """Receipts kept in the queue until the printer takes them."""
    problem: str | None = None
    """What is wrong with the printer, as the driver says it; None when nothing is."""
    printed: int = 0
    """Receipts printed in this step."""
    drawer_opened: bool | None = None
    """Asked to open the drawer with the receipt: whether it did; None when not asked."""

    def status_line(self) -> tuple[str, bool]:
        """The status bar's words for the printer, and whether all is well."""
        if self.waiting:
            waits = "1 receipt waits" if self.waiting == 1 else f"{self.waiting} receipts wait"
            problem = self.problem or "The receipt printer is not printing."
            return f"Receipt printer: {problem} {waits} and will print when it is back.", False
        if self.problem:
            return f"Receipt printer: {self.problem}", False
        return "Receipt printer: ready", True


class ReceiptStation:
    """The lane's receipt printer at ``target`` with its queue in ``queue_dir``.

    ``layout`` is what receipts for this printer are laid out with (its columns, the sale code):
    the register asks for it when it lays out a sale.

    Raises:
        ConfigurationError: ``target`` is not a printer address.
        DeviceUnavailable: the queue folder cannot be created.
    """

    def __init__(
        self,
        target: str,
        queue_dir: Path,
        *,
        fmt: ReceiptFormat = DEFAULT_FORMAT,
        layout: ReceiptLayout = ReceiptLayout(),  # noqa: B008 -- frozen
        drawer_pin: int = 2,
        status_timeout: float = 0.5,
    ) -> None:
        self.target = target
        self.printer: ReceiptPrinter = open_printer(target, fmt)
        self.device = Device("receipt printer")
        self.device.open()
        self.device.claim()
        self.device.enable()
        self.queue = PrintQueue(queue_dir, self._send)
        self.worker = DeviceWorker("receipt-printer")
        self._fmt = fmt
        self.layout = layout
        self._kick = drawer_kick(drawer_pin, self.printer.pulse_on_ms, self.printer.pulse_off_ms)
        self._status_timeout = status_timeout
        self._answers_status: bool | None = None  # None until the printer first answers DLE EOT, or not

    def describe(self) -> str:
        return self.printer.describe()

    def waiting(self) -> int:
        """Receipts in the queue now (reads the folder; cheap)."""
        return len(self.queue.pending())

    def print_receipt(
        self, rows: Sequence[ReceiptRow], *, open_drawer: bool
    ) -> concurrent.futures.Future[PrintOutcome]:
        """Queue ``rows`` as a receipt and print what waits; with ``open_drawer`` the drawer opens with it."""
        return self.worker.submit(self._print, list(rows), open_drawer)

    def retry(self) -> concurrent.futures.Future[PrintOutcome]:
        """Print what waits in the queue, oldest first, if the printer can take it now."""
        return self.worker.submit(self._drain, None)

    def close(self) -> None:
        """Finish what was submitted (a queued receipt stays on disk for the next start), then stop."""
        self.worker.close()
        self.printer.close()
        self.device.close()

    # -- on the worker thread ------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        self.device.run(self.printer.send_raw, data)

    def _print(self, rows: list[ReceiptRow], open_drawer: bool) -> PrintOutcome:
        try:
            job = self.queue.enqueue_receipt(rows, self._fmt)
        except DeviceUnavailable as exc:  # the disk refused it: print it straight away, or say it is lost
            logger.error("receipt not queued: %s", exc)
            try:
                self.device.run(self.printer.print_receipt, rows, open_drawer=open_drawer)
            except PeripheralError as failed:
                return PrintOutcome(self.waiting(), f"{failed} {exc} This receipt is lost; reprint it.", 0, False)
            return PrintOutcome(self.waiting(), str(exc), 1, open_drawer or None)
        instead = {job.sequence: encode_receipt(rows, self._fmt, kick=self._kick)} if open_drawer else None
        outcome = self._drain(instead)
        if not open_drawer:
            return outcome
        opened = not job.path.exists()  # printed in this drain, with the kick in the same job
        return PrintOutcome(outcome.waiting, outcome.problem, outcome.printed, opened)

    def _drain(self, instead: dict[int, bytes] | None) -> PrintOutcome:
        status = self._status()
        if status is not None and _blocks(status):
            return PrintOutcome(self.waiting(), status.problem())
        result = self.queue.drain(instead)
        if result.error is not None:
            return PrintOutcome(result.remaining, str(result.error), result.printed)
        warning = status.problem() if status is not None else None  # e.g. the paper is nearly out
        return PrintOutcome(result.remaining, warning, result.printed)

    def _status(self) -> PrinterStatus | None:
        """The printer's own report, when it gives one; a printer that never answered is not asked again."""
        if self._answers_status is False:
            return None
        status = self.printer.status(self._status_timeout)
        if status.health is Health.UNKNOWN:
            if self._answers_status is None:
                self._answers_status = False  # no DLE EOT support (or a file): print without asking
                logger.info("%s does not report its status; printing without asking", self.describe())
            return None
        if status.health is not Health.OFF:
            self._answers_status = True
        self.device.set_health(status.health)
        return status


def _blocks(status: PrinterStatus) -> bool:
    """True when the printer answers but says it cannot print: keep the jobs on disk. (A printer that
    does not answer at all is tried anyway: the send fails at once with the driver's own sentence.)"""
    return status.health is Health.OFFLINE or status.paper is Paper.OUT or bool(status.cover_open) or bool(status.error)
