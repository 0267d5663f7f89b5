"""What a payment came to, with the sentence the cashier sees."""

from __future__ import annotations

from dataclasses import dataclass

from peripherals.payment.intents import IntentKind, IntentState, PaymentIntent

UNKNOWN_MESSAGE = "Payment status unknown — check the terminal before charging again."


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The stored intent after the terminal's answer (or the lack of one), and what to tell the cashier.

    Complete the sale only when ``approved``; on ``unknown`` block a new card payment on this
    terminal (the store does) until ``recover()``, ``cancel()`` or ``resolve()`` settles it.
    """

    intent: PaymentIntent
    message: str

    @property
    def state(self) -> IntentState:
        return self.intent.state

    @property
    def approved(self) -> bool:
        return self.intent.state is IntentState.APPROVED

    @property
    def intent_id(self) -> str:
        return self.intent.intent_id


def result_for(intent: PaymentIntent) -> PaymentResult:
    """The result of ``intent`` as stored, with the sentence its state calls for."""
    return PaymentResult(intent, describe(intent))


def describe(intent: PaymentIntent) -> str:
    """The cashier's sentence for an intent's state."""
    money, refund = intent.money, intent.kind is IntentKind.REFUND
    what = f"refund of {money}" if refund else f"card payment of {money}"
    reason = f" ({intent.detail})" if intent.detail else ""
    sentences = {
        IntentState.APPROVED: f"{what[0].upper()}{what[1:]} approved ({intent.card_brand} ending {intent.last4}).",
        IntentState.DECLINED: f"The refund was declined{reason}; no money was returned."
        if refund
        else f"The card was declined{reason}; ask for another way to pay.",
        IntentState.CANCELLED: f"The {what} was cancelled; no money was {'returned' if refund else 'taken'}.",
        IntentState.UNKNOWN: UNKNOWN_MESSAGE,
    }
    if intent.state is IntentState.APPROVED and intent.last4 is None:  # settled by hand
        return f"The {what} was recorded as done after checking the terminal."
    return sentences.get(intent.state, f"The {what} is still in progress; follow it on the terminal.")
