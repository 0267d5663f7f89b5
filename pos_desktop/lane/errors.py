"""The lane's root exception and the errors a cashier can act on.

Every message is one sentence saying what happened and what to do about it.
"""

from __future__ import annotations

UNSURE_CODES = frozenset({"not_logged_in", "wrong_cashier", "internal"})
"""Error codes for a sale that do not prove the server never recorded it: they are about this
connection's login (checked before the sale's id) or a server fault. Other codes (``invalid_sale``,
``unknown_sku``, ...) refuse the sale's content, which was the same at every attempt."""


class LaneError(Exception):
    """Root of every error raised by ``pos_desktop``; the message is shown to the cashier as is."""


class ServerUnreachable(LaneError):
    """The store server cannot be reached, or the connection to it dropped."""


class CredentialRefused(LaneError):
    """The store server refused this register's token at connect (HTTP 401/403)."""


class RequestRefused(LaneError):
    """The server answered a request with an error reply; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LoginRefused(RequestRefused):
    """Logging the last cashier in again after a reconnect was refused (deactivated, PIN changed)."""


class OutcomeUnknown(LaneError):
    """A sale was sent, but whether the store server recorded it cannot be told from its answer."""


class UnknownBarcode(LaneError):
    """A scanned code matches no product in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(f"No product with barcode {code}; check the number or look it up.")
        self.code = code
