"""The root exception of the domain, and the errors a person can act on."""

from __future__ import annotations


class PosError(Exception):
    """Root of every error raised by ``pos_core``.

    The message is a sentence a cashier, manager or developer can act on.
    """


class CurrencyMismatch(PosError):
    """Two amounts in different currencies were combined."""


class InsufficientTender(PosError):
    """The customer handed over less than the amount due."""


class InvalidSale(PosError):
    """A sale's figures do not add up, or a field is missing or wrong."""


class InvalidQuantity(PosError):
    """A quantity is not a whole number in the allowed range."""


class InvalidTimestamp(PosError):
    """A time is not ISO 8601 with a zone, or lies where it cannot (a count in the future)."""


class IllegalTransition(PosError):
    """An order cannot take this step from the state it is in."""
