"""``ReceiptStation``: the lane's receipt printer and cash drawer, driven on their own device thread.

A printer failure never loses a sale: it is reported as a sentence and the printer is
opened afresh for the next receipt.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pos_core.receipt import ReceiptRow

if TYPE_CHECKING:
    from peripherals.printer import ReceiptPrinter

logger = logging.getLogger(__name__)


class ReceiptStation:
    """Prints receipts and kicks the drawer through a ``DeviceWorker``.

    Args:
        target: ``file:PATH`` or ``tcp:HOST:PORT``, as ``peripherals.printer.open_printer`` takes.
    """

    def __init__(self, target: str) -> None:
        from peripherals.worker import DeviceWorker

        self.target = target
        self._worker = DeviceWorker("receipt-printer")
        self._printer: ReceiptPrinter | None = None  # touched only on the worker's thread

    def print_and_open(self, rows: Sequence[ReceiptRow]) -> concurrent.futures.Future[str | None]:
        """Print ``rows``, cut, and open the drawer; the future holds ``None`` or a sentence."""
        return self._worker.submit(self._print_and_open, list(rows))

    def close(self) -> None:
        try:
            self._worker.submit(self._close).result(timeout=5)
        except Exception:  # shutting down: a stuck printer must not block the exit
            logger.debug("closing the receipt printer failed", exc_info=True)
        self._worker.close()

    def _print_and_open(self, rows: list[ReceiptRow]) -> str | None:
        from peripherals.errors import PeripheralError
        from peripherals.printer import open_printer

        try:
            if self._printer is None:
                self._printer = open_printer(self.target)
            # One job: the drawer opens as the receipt comes out, and a failure leaves neither half-done.
            self._printer.print_receipt(rows, open_drawer=True)
        except PeripheralError as exc:
            logger.warning("receipt printer %s failed: %s", self.target, exc)
            self._close()
            return str(exc)
        return None

    def _close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:  # already failing; the next receipt reopens it
                logger.debug("closing printer after a failure", exc_info=True)
