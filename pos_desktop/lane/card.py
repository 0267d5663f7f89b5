"""``CardStation``: the lane's semi-integrated card terminal, its payment intents and its thread.

The register never sees card data: it asks the terminal for an amount and gets back an auth
code, the card brand and the last 4 digits (``peripherals.payment``). Every payment is an intent
written to ``DATA_DIR/payments`` before the request leaves; a payment whose outcome is unknown
blocks the next one on this terminal until ``recover()`` (asking the terminal) or ``resolve()``
(a person who checked the terminal's journal) settles it. A pay is never sent twice.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from peripherals.errors import PeripheralError
from peripherals.lane_config import TerminalSettings
from peripherals.payment import (
    IntentStore,
    PaymentIntent,
    PaymentResult,
    PaymentTerminal,
    PromptListener,
    TerminalTimeouts,
    open_terminal,
)
from peripherals.worker import DeviceWorker
from pos_core.tender import Tender

PAYMENTS_FOLDER = "payments"


def terminal_target(settings: TerminalSettings) -> str:
    """``tcp:HOST:PORT`` from the lane setting (which may leave out the ``tcp:``)."""
    address = settings.address
    return address if address.startswith("tcp:") else f"tcp:{address}"


def card_tender(result: PaymentResult) -> Tender:
    """The sale's card tender for an approved payment: the reference and what a receipt may show."""
    intent = result.intent
    return Tender.card(intent.amount, intent.intent_id, intent.auth_code, intent.card_brand, intent.last4)


class CardStation:
    """The card terminal of this lane with its intents in ``data_dir/payments``.

    Raises:
        ConfigurationError: the address is not ``HOST:PORT``.
        DeviceUnavailable: the intent file cannot be opened.
    """

    def __init__(
        self,
        settings: TerminalSettings,
        data_dir: Path,
        *,
        timeouts: TerminalTimeouts = TerminalTimeouts(),  # noqa: B008 -- frozen, so one shared default is safe
    ) -> None:
        self.store = IntentStore(data_dir / PAYMENTS_FOLDER)
        try:
            self.terminal: PaymentTerminal = open_terminal(terminal_target(settings), self.store, timeouts=timeouts)
        except PeripheralError:
            self.store.close()
            raise
        self.device = self.terminal.device
        self.worker = DeviceWorker("card-terminal")

    def describe(self) -> str:
        return self.terminal.describe()

    def pay(
        self, amount: int, currency: str, sale_ref: str, on_prompt: PromptListener
    ) -> concurrent.futures.Future[PaymentResult]:
        """Charge ``amount`` for the sale ``sale_ref``; prompts go to ``on_prompt`` on the worker thread.

        The future raises ``TerminalBusy`` (an earlier payment is unsettled) or
        ``DeviceUnavailable`` (terminal unreachable: nothing was charged).
        """
        return self.worker.submit(self.terminal.pay, amount, currency, sale_ref, on_prompt)

    def cancel(self) -> PaymentResult | None:
        """Ask the terminal to cancel the payment in progress. Blocking, on its own connection:
        call it from a thread other than the worker (which is busy waiting for the card)."""
        return self.terminal.cancel()

    def recover(self) -> concurrent.futures.Future[list[PaymentResult]]:
        """Settle an unsettled payment by asking the terminal what became of it."""
        return self.worker.submit(self.terminal.recover)

    def resolve(self, intent_id: str, *, charged: bool, note: str) -> concurrent.futures.Future[PaymentResult]:
        """Settle an unknown payment by hand, after a person checked the terminal's own journal."""
        return self.worker.submit(self.terminal.resolve, intent_id, charged=charged, note=note)

    def outstanding(self) -> PaymentIntent | None:
        return self.terminal.outstanding()

    def close(self) -> None:
        self.worker.close()
        self.terminal.close()
        self.store.close()
