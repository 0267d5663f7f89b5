"""A semi-integrated card terminal: the register sends amounts, the terminal handles the card.

Card data never reaches the register (DESIGN.md §7): the terminal reads the card and the PIN and
answers with an auth code, the card brand and the last 4 digits. What the register must get
right is money: every request is an intent written to disk before it leaves (``IntentStore``),
a terminal has one outstanding intent at a time, and when no answer comes the intent is
``unknown``, never retried: ``recover()`` asks the terminal what happened instead of charging
again (DESIGN.md §8).

Calls are blocking and bounded by ``TerminalTimeouts``: run ``pay``/``refund``/``recover`` on the
terminal's ``DeviceWorker``. ``cancel()`` is meant to be called from another thread while
``pay()`` waits (it uses its own connection), e.g. ``asyncio.to_thread(terminal.cancel)``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

from peripherals.device import Device, DeviceState
from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.payment.intents import IntentKind, IntentState, IntentStore, PaymentIntent
from peripherals.payment.link import Lost, TerminalLink, TerminalTimeouts, ask, follow
from peripherals.payment.protocol import (
    MAX_AMOUNT,
    Accepted,
    Approved,
    Busy,
    Cancel,
    Cancelled,
    Declined,
    Error,
    Pay,
    Prompt,
    Refund,
    Reply,
    Status,
    UnknownIntent,
    clean_text,
    is_intent_id,
)
from peripherals.payment.results import PaymentResult, result_for
from pos_core.errors import PosError
from pos_core.money import exponent, format_money

log = logging.getLogger(__name__)

_TCP_TARGET = re.compile(r"tcp:(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]/\s]+)):(?P<port>\d{1,5})")

PromptListener = Callable[[Prompt], None]
"""Called on the worker thread with each prompt ("insert card", "enter PIN") for the screen."""


class _Unsettled(DeviceUnavailable):
    """Raised inside ``Device.run`` so a silent terminal counts as failing, then turned back into its result."""

    def __init__(self, result: PaymentResult) -> None:
        super().__init__(result.message)
        self.result = result


class PaymentTerminal:
    """A card terminal at ``host:port`` speaking protocol v1, its intents kept in ``store``.

    ``terminal_id`` names it in the store (default ``tcp:HOST:PORT``); keep it stable across
    restarts, since recovery looks up the intents by it. ``device`` is its lifecycle, health,
    events and counters; ``open()`` enables it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        store: IntentStore,
        *,
        terminal_id: str | None = None,
        timeouts: TerminalTimeouts = TerminalTimeouts(),  # noqa: B008 -- frozen, so one shared default is safe
        name: str = "card terminal",
    ) -> None:
        self.host, self.port, self.store, self.timeouts, self.name = host, port, store, timeouts, name
        self.terminal_id = terminal_id or f"tcp:{host}:{port}"
        self.device = Device(name)
        self._in_flight: str | None = None  # the intent pay()/refund() is waiting on

    def describe(self) -> str:
        return f"{self.name} at {self.host}:{self.port}"

    def open(self) -> None:
        """Open, claim and enable ``device``; nothing is contacted yet."""
        self.device.open()
        self.device.claim()
        self.device.enable()

    def close(self) -> None:
        self.device.close()

    def outstanding(self) -> PaymentIntent | None:
        """The intent that blocks a new payment on this terminal, if any."""
        return self.store.outstanding(self.terminal_id)

    # -- payments ------------------------------------------------------------------------------
    def pay(self, amount: int, currency: str, sale_ref: str, on_prompt: PromptListener | None = None) -> PaymentResult:
        """Charge ``amount`` minor units of ``currency`` to the customer's card for ``sale_ref``.

        Returns the outcome: ``approved``, ``declined``, ``cancelled`` or ``unknown`` (no answer:
        show the message, never charge again before ``recover()`` settles it).

        Raises:
            TerminalBusy: the terminal still has an outstanding intent.
            DeviceUnavailable: the terminal cannot be reached; nothing was sent, no money taken.
            PeripheralError: not enabled, or an amount or currency the terminal cannot take.
        """
        intent = self._create(IntentKind.PAY, amount, currency, sale_ref, None)
        return self._through_device(self._transact, intent, Pay(intent.intent_id, amount, currency), on_prompt)

    def refund(
        self,
        amount: int,
        currency: str,
        sale_ref: str,
        original_intent_id: str | None = None,
        on_prompt: PromptListener | None = None,
    ) -> PaymentResult:
        """Return ``amount`` to the customer's card, optionally naming the payment it refunds.

        Same outcomes and errors as ``pay()``.
        """
        if original_intent_id is not None and not is_intent_id(original_intent_id):
            raise PeripheralError("The original card payment's id is not one the terminal can look up.")
        intent = self._create(IntentKind.REFUND, amount, currency, sale_ref, original_intent_id)
        request = Refund(intent.intent_id, amount, currency, original_intent_id)
        return self._through_device(self._transact, intent, request, on_prompt)

    def cancel(self) -> PaymentResult | None:
        """Ask the terminal to cancel the outstanding intent; None when there is none.

        The terminal's answer is the outcome: ``cancelled``, or ``approved``/``declined`` when it
        was too late. Safe to call from another thread while ``pay()`` waits.
        """
        intent = self.outstanding()
        if intent is None:
            return None
        if intent.state is IntentState.CREATED:
            intent = self._cancel_unsent(intent, "cancelled before sending")
            if not intent.state.outstanding:
                return result_for(intent)
        return self._through_device(self._cancel, intent)

    def recover(self) -> list[PaymentResult]:
        """Settle what a crash or a lost connection left open, by asking the terminal; never re-sends a payment.

        Call it at start-up and whenever a result was ``unknown``. Each result is the intent's
        state after the terminal's answer; ``unknown`` when it could not be reached or does not
        know the intent.
        """
        intent = self.outstanding()
        if intent is None or intent.intent_id == self._in_flight:
            return []
        if intent.state is IntentState.CREATED:  # written, then the register stopped before sending
            intent = self._cancel_unsent(intent, "never sent")
            if not intent.state.outstanding:
                return [result_for(intent)]
        return [self._through_device(self._recover, intent)]

    def _cancel_unsent(self, intent: PaymentIntent, detail: str) -> PaymentIntent:
        """Cancel a ``created`` intent unless pay() marked it ``sent`` in the meantime (then it is returned so)."""
        return self.store.transition(
            intent.intent_id, IntentState.CANCELLED, detail=detail, only_from=IntentState.CREATED
        )

    def resolve(self, intent_id: str, *, charged: bool, note: str) -> PaymentResult:
        """Settle an ``unknown`` intent by hand after a person checked the terminal's own journal.

        An override: the register asks for an authorised user and journals it. ``note`` is kept
        (digit runs masked, so a card number typed by mistake is not stored).

        Raises:
            PeripheralError: the intent is not this terminal's or its status is not unknown.
        """
        intent = self.store.get(intent_id)
        if intent is None or intent.terminal_id != self.terminal_id or intent.intent_id == self._in_flight:
            raise PeripheralError(f"There is no card payment {intent_id} waiting on the {self.name}.")
        if intent.state is not IntentState.UNKNOWN:
            raise PeripheralError(
                f"Only a payment whose status is unknown can be settled by hand; this one is {intent.state.value}."
            )
        state = IntentState.APPROVED if charged else IntentState.CANCELLED
        settled = self.store.transition(intent_id, state, detail=f"settled by hand: {clean_text(note, 'note')}")
        log.warning("intent %s settled by hand as %s", intent_id, state.value)
        return result_for(settled)

    # -- inside Device.run -------------------------------------------------------------------
    def _create(
        self, kind: IntentKind, amount: int, currency: str, sale_ref: str, original_intent_id: str | None
    ) -> PaymentIntent:
        if self.device.state is not DeviceState.ENABLED:
            raise PeripheralError(f"The {self.name} is not enabled; it is {self.device.state.value}.")
        try:
            exponent(currency)
        except PosError as exc:
            raise ConfigurationError(str(exc)) from exc
        if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT:
            limit = format_money(MAX_AMOUNT, currency)
            raise PeripheralError(f"A card amount must be from {format_money(1, currency)} to {limit}.")
        return self.store.create(
            terminal_id=self.terminal_id, kind=kind, amount=amount, currency=currency, sale_ref=sale_ref,
            original_intent_id=original_intent_id,
        )  # fmt: skip

    def _through_device(
        self, operation: Callable[..., PaymentResult], intent: PaymentIntent, *args: object
    ) -> PaymentResult:
        try:
            return self.device.run(operation, intent, *args)
        except _Unsettled as exc:
            return exc.result

    def _transact(
        self, intent: PaymentIntent, request: Pay | Refund, on_prompt: PromptListener | None
    ) -> PaymentResult:
        try:
            link = TerminalLink.connect(self.host, self.port, self.timeouts.connect, self.name)
        except DeviceUnavailable as exc:
            self.store.transition(intent.intent_id, IntentState.CANCELLED, detail="never sent: terminal unreachable")
            raise DeviceUnavailable(f"{exc} Nothing was charged.") from exc
        with link:
            sent = self.store.transition(intent.intent_id, IntentState.SENT)  # on disk before the first byte leaves
            if sent.state is not IntentState.SENT:  # cancel() came first
                return result_for(sent)
            self._in_flight = intent.intent_id
            try:
                if not link.send(request):
                    return self._after_disconnect(sent)
                outcome = follow(link, sent.intent_id, self.timeouts, on_prompt)
            finally:
                self._in_flight = None
        if isinstance(outcome, Lost):
            if outcome.timed_out:  # asking at once would meet the same silence: leave it to recover()
                self._unreachable(sent, outcome.detail)
            return self._after_disconnect(sent)
        if isinstance(outcome, Busy):
            message = f"The {self.name} is busy with another payment; finish it there, then try again."
            return self._record(sent, IntentState.CANCELLED, detail="refused: terminal busy", message=message)
        if isinstance(outcome, Error):
            message = f"The {self.name} refused the request ({outcome.reason}); nothing was charged."
            return self._record(sent, IntentState.CANCELLED, detail=f"refused: {outcome.reason}", message=message)
        return self._answer(sent, outcome)

    def _cancel(self, intent: PaymentIntent) -> PaymentResult:
        reply = self._ask(Cancel(intent.intent_id))
        if reply is None and intent.intent_id == self._in_flight:  # pay() still waits and will record the end
            message = f"The {self.name} did not confirm the cancel; follow the payment on the terminal."
            raise _Unsettled(PaymentResult(intent, message))
        return self._answer(intent, reply)

    def _recover(self, intent: PaymentIntent) -> PaymentResult:
        return self._answer(intent, self._ask(Status(intent.intent_id)))

    def _after_disconnect(self, intent: PaymentIntent) -> PaymentResult:
        """The payment's connection broke: one status question, never a second pay."""
        return self._answer(intent, self._ask(Status(intent.intent_id)))

    # -- recording answers ---------------------------------------------------------------------
    def _ask(self, request: Status | Cancel) -> Reply | None:
        try:
            return ask(self.host, self.port, request, self.timeouts, self.name)
        except DeviceUnavailable:
            return None

    def _answer(self, intent: PaymentIntent, reply: Reply | None) -> PaymentResult:
        """Record a terminal's answer about ``intent``; anything but a final answer leaves it unknown."""
        if isinstance(reply, Approved):
            return self._record(
                intent, IntentState.APPROVED, auth_code=reply.auth_code, card_brand=reply.card_brand, last4=reply.last4
            )
        if isinstance(reply, Declined):
            return self._record(intent, IntentState.DECLINED, detail=reply.reason)
        if isinstance(reply, Cancelled):
            return self._record(intent, IntentState.CANCELLED)
        if isinstance(reply, Accepted):
            what = "refund" if intent.kind is IntentKind.REFUND else "payment"
            message = (
                f"The {self.name} is still working on a {what} of {intent.money}; "
                "finish or cancel it there, then check again."
            )
            return self._record(intent, IntentState.UNKNOWN, detail="in progress at the terminal", message=message)
        if isinstance(reply, UnknownIntent):
            return self._record(intent, IntentState.UNKNOWN, detail="the terminal does not know it")
        self._unreachable(intent, "no answer from the terminal")

    def _unreachable(self, intent: PaymentIntent, detail: str) -> NoReturn:
        raise _Unsettled(self._record(intent, IntentState.UNKNOWN, detail=detail))

    def _record(
        self,
        intent: PaymentIntent,
        state: IntentState,
        *,
        auth_code: str | None = None,
        card_brand: str | None = None,
        last4: str | None = None,
        detail: str | None = None,
        message: str | None = None,
    ) -> PaymentResult:
        try:
            stored = self.store.transition(
                intent.intent_id, state, auth_code=auth_code, card_brand=card_brand, last4=last4, detail=detail
            )
        except DeviceUnavailable:
            # The terminal's answer stands; the disk still says "sent", so recover() records it later.
            log.exception("intent %s: could not record %s", intent.intent_id, state.value)
            stored = replace(
                intent, state=state, auth_code=auth_code, card_brand=card_brand, last4=last4, detail=detail
            )
        if message is not None and stored.state is state:
            return PaymentResult(stored, message)
        return result_for(stored)


def open_terminal(
    target: str,
    store: IntentStore,
    *,
    terminal_id: str | None = None,
    timeouts: TerminalTimeouts = TerminalTimeouts(),  # noqa: B008 -- frozen
    name: str = "card terminal",
) -> PaymentTerminal:
    """An enabled terminal at ``tcp:HOST:PORT`` (``tcp:[IPv6]:PORT``). Nothing is contacted yet.

    Raises:
        ConfigurationError: not of that form.
    """
    match = _TCP_TARGET.fullmatch(target)
    port = int(match.group("port")) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ConfigurationError(f"The {name} address {target!r} is not understood; use tcp:HOST:PORT.")
    host = match.group("v6") or match.group("host")
    terminal = PaymentTerminal(host, port, store, terminal_id=terminal_id, timeouts=timeouts, name=name)
    terminal.open()
    return terminal
