"""The store server's root exception and the errors a person can act on.

Every message is one sentence that says what happened and what to do about it.
"""

from __future__ import annotations

import re


class StoreError(Exception):
    """Root of every error raised by ``store_server``."""


class NotOurDatabase(StoreError):
    """The database exists but was not made by this program."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where} is not a store database (no pos tables); pass a new --data-dir or --db.")
        self.where = where


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or reached."""

    @classmethod
    def unreachable(cls, where: str, exc: Exception) -> DatabaseUnavailable:
        """The database server at ``where`` (a URL without its password) did not answer, or
        refused the connection: the sentence says which when the server said (a database or
        user it does not have, a password it refused)."""
        said = str(getattr(exc, "orig", None) or exc)
        for pattern, sentence in _REFUSALS:
            found = pattern.search(said)
            if found:
                return cls(sentence.format(*found.groups(), where=where))
        return cls(f"Cannot reach the database {where} ({exc.__class__.__name__}); check --db.")


_REFUSALS = [
    (
        re.compile(r'database "([^"]+)" does not exist'),
        "The database server of {where} has no database {0}; create it (e.g. `createdb {0}`) or check --db.",
    ),
    (
        re.compile(r'role "([^"]+)" does not exist'),
        "The database server of {where} has no user {0}; check the user in --db.",
    ),
    (
        re.compile(r"password authentication failed for user \"([^\"]+)\""),
        "The database server of {where} refused the password of {0}; check the password in --db.",
    ),
]
"""What PostgreSQL says when it refuses a connection, and the sentence for a person."""


class BadDatabaseUrl(StoreError):
    """``--db`` is not a database URL this server can open."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(
            f"{url!r} is not a database URL the store can use ({why}); pass --db sqlite:///PATH/store.db "
            "or --db postgresql+psycopg://USER@HOST/DB."
        )


class StoreNotInitialised(StoreError):
    """The database has our tables but no store row yet."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where} has no store yet; run `pos store init` first.")


class SchemaDrift(StoreError):
    """The database schema and the models disagree."""


class PortInUse(StoreError):
    """The address the server should listen on is taken."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"Port {port} on {host} is already in use; stop the other server or pass --port.")
        self.host = host
        self.port = port


class FeedRefused(StoreError):
    """The store server refused a feed connection (bad or wrong-kind token)."""


class UnknownCredentialKind(StoreError):
    """A token kind other than ``register`` or ``storefront`` was asked for."""


class UnknownCredential(StoreError):
    """No live credential matches the name or id given, or a name matches several."""


class UnknownScope(StoreError):
    """A token was asked for with scopes it cannot carry."""


class RequestRefused(StoreError):
    """A client's request that the store cannot act on; nothing was changed.

    ``code`` is the wire error code from ``pos_core.protocol``.
    """

    code = "internal"


class SaleRefused(RequestRefused):
    code = "invalid_sale"


class UnknownSku(RequestRefused):
    code = "unknown_sku"


class IdempotencyConflict(RequestRefused):
    code = "idempotency_conflict"


class UnknownCashier(RequestRefused):
    code = "unknown_cashier"


class WrongPin(RequestRefused):
    code = "wrong_pin"


class NotAuthorised(RequestRefused):
    """An override asked of someone who may not authorise it (not a manager, or the same person)."""

    code = "not_authorised"


class InsufficientStock(RequestRefused):
    """Not enough available stock for a reservation; ``short`` says by how much, per SKU."""

    code = "insufficient_stock"

    def __init__(self, message: str, short: list[dict[str, int | str]]) -> None:
        super().__init__(message)
        self.short = short
        """``{"sku", "requested", "available"}`` for each SKU that could not be held."""


class UnknownReservation(RequestRefused):
    code = "unknown_reservation"


class ReservationNotPending(RequestRefused):
    code = "reservation_not_pending"


class IllegalOrderTransition(RequestRefused):
    code = "illegal_transition"


class UnknownOrder(RequestRefused):
    code = "unknown_order"


class QuantityRefused(RequestRefused):
    code = "invalid_quantity"


class TimestampRefused(RequestRefused):
    code = "invalid_timestamp"


class UnknownLocation(RequestRefused):
    code = "unknown_location"


class UnknownTransfer(RequestRefused):
    code = "unknown_transfer"


class UnknownCategory(RequestRefused):
    code = "unknown_category"


class ProductRefused(RequestRefused):
    code = "invalid_product"


class UnknownException(RequestRefused):
    code = "unknown_exception"


class BadRequest(RequestRefused):
    """A field is missing, of the wrong type or out of range (an id too long, a hold too short)."""

    code = "bad_message"
