"""Checks every inventory command makes before it writes anything, with sentences to act on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from pos_core.errors import InvalidQuantity, InvalidTimestamp
from pos_core.inventory import StockLine, check_count_time, check_lines, check_quantity
from store_server.errors import BadRequest, QuantityRefused, TimestampRefused, UnknownLocation, UnknownSku
from store_server.usecases.rows import fetch_all
from store_server.usecases.stock import units_sold_by

LOCATION = "SELECT 1 FROM locations WHERE code = :code"
MAX_ID_LEN = 36
"""Ids are client-made UUIDs; the columns hold 36 characters."""


def document_id(value: object, what: str) -> str:
    """A client-made id of 1 to 36 characters.

    Raises:
        BadRequest: empty, too long or not a string.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LEN:
        raise BadRequest(f"The {what} must be an id of 1 to {MAX_ID_LEN} characters, such as a UUID.")
    return value


def text(value: object, what: str, max_len: int = 200) -> str:
    """A non-empty string of at most ``max_len`` characters.

    Raises:
        BadRequest: empty, too long or not a string.
    """
    if not isinstance(value, str) or not 0 < len(value) <= max_len:
        raise BadRequest(f"The {what} must be text of 1 to {max_len} characters.")
    return value


def lines(given: Sequence[StockLine], what: str, *, allow_zero: bool = False) -> tuple[StockLine, ...]:
    """``pos_core.inventory.check_lines`` with the server's error.

    Raises:
        QuantityRefused: no lines, too many, or a quantity out of range.
    """
    try:
        return check_lines(given, what, allow_zero=allow_zero)
    except InvalidQuantity as exc:
        raise QuantityRefused(str(exc)) from None


def seconds(value: object, what: str, low: int, high: int) -> int:
    """A duration in whole seconds within ``[low, high]``.

    Raises:
        BadRequest: not a whole number in range.
    """
    if type(value) is not int or not low <= value <= high:
        raise BadRequest(f"The {what} must be a whole number of seconds from {low} to {high}.")
    return value


def quantity(value: object, what: str, *, allow_zero: bool = False) -> int:
    """``pos_core.inventory.check_quantity`` with the server's error.

    Raises:
        QuantityRefused: not a whole number in range.
    """
    try:
        return check_quantity(value, what, allow_zero=allow_zero)
    except InvalidQuantity as exc:
        raise QuantityRefused(str(exc)) from None


def count_time(counted_at: str | None, now: datetime) -> str:
    """``pos_core.inventory.check_count_time`` with the server's error.

    Raises:
        TimestampRefused: not a timestamp, in the future, or too long ago.
    """
    try:
        return check_count_time(counted_at, now)
    except InvalidTimestamp as exc:
        raise TimestampRefused(str(exc)) from None


def known_location(session: Session, code: str) -> str:
    """
    Raises:
        UnknownLocation: the store has no location ``code``.
    """
    if not fetch_all(session, LOCATION, {"code": code}):
        raise UnknownLocation(f"The store has no location {code!r}; add it first or pick one of its locations.")
    return code


def known_skus(session: Session, skus: Iterable[str]) -> None:
    """
    Raises:
        UnknownSku: one or more SKUs are not in the catalogue; the message lists them.
    """
    wanted = set(skus)
    missing = sorted(wanted - set(units_sold_by(session, wanted)))
    if missing:
        raise UnknownSku(f"The store has no product with SKU {', '.join(missing)}; check the SKUs or add the products.")
