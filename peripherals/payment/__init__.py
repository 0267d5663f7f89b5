"""Semi-integrated card terminals: protocol v1 codec, persisted payment intents, the terminal client.

The register imports from here::

    from peripherals.payment import IntentStore, PaymentResult, PaymentTerminal, open_terminal
"""

from peripherals.payment.intents import IntentKind, IntentState, IntentStore, PaymentIntent, TerminalBusy
from peripherals.payment.link import TerminalTimeouts
from peripherals.payment.protocol import PROMPT_CODES, Prompt
from peripherals.payment.results import UNKNOWN_MESSAGE, PaymentResult
from peripherals.payment.terminal import PaymentTerminal, PromptListener, open_terminal

__all__ = [
    "PROMPT_CODES",
    "UNKNOWN_MESSAGE",
    "IntentKind",
    "IntentState",
    "IntentStore",
    "PaymentIntent",
    "PaymentResult",
    "PaymentTerminal",
    "Prompt",
    "PromptListener",
    "TerminalBusy",
    "TerminalTimeouts",
    "open_terminal",
]
