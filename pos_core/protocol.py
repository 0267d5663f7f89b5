"""Wire messages between registers, storefronts and the store server (docs/protocol.md).

Every message is one JSON object in one websocket text frame with a ``type``.
Requests carry ``req``, a client-chosen correlation id echoed in the reply.
This module decodes and checks frames; it does no I/O.
"""

from __future__ import annotations

from typing import Any

from pos_core.errors import PosError
from pos_core.json_text import compact, parse

PROTOCOL_VERSION = 1
MDNS_SERVICE_TYPE = "_pos-store._tcp.local."
MAX_MESSAGE_BYTES = 256 * 1024
"""Largest frame a server accepts from a client; bigger frames close the connection (1009)."""
REGISTER_PATH = "/register"
FEED_PATH = "/feed"
STOREFRONT_PATH = "/storefront"
MAX_REQ_LEN = 100

# What a storefront token may do (docs/protocol.md, "Scopes"); a token carries some of them.
SCOPE_FEED_READ = "feed:read"
SCOPE_STOCK_READ = "stock:read"
SCOPE_STOCK_RESERVE = "stock:reserve"
SCOPE_ORDERS_READ = "orders:read"
SCOPE_ORDERS_WRITE = "orders:write"
STOREFRONT_SCOPES = (SCOPE_FEED_READ, SCOPE_STOCK_READ, SCOPE_STOCK_RESERVE, SCOPE_ORDERS_READ, SCOPE_ORDERS_WRITE)

# Error codes, each documented in docs/protocol.md.
BAD_JSON = "bad_json"
BAD_MESSAGE = "bad_message"
UNKNOWN_TYPE = "unknown_type"
INVALID_SALE = "invalid_sale"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"
UNKNOWN_SKU = "unknown_sku"
UNKNOWN_CASHIER = "unknown_cashier"
WRONG_PIN = "wrong_pin"
NOT_LOGGED_IN = "not_logged_in"
WRONG_CASHIER = "wrong_cashier"
CASHIER_LOCKED = "cashier_locked"
INTERNAL = "internal"
FORBIDDEN_SCOPE = "forbidden_scope"

# Inventory and order error codes, each documented in docs/inventory.md.
INSUFFICIENT_STOCK = "insufficient_stock"
UNKNOWN_RESERVATION = "unknown_reservation"
RESERVATION_NOT_PENDING = "reservation_not_pending"
ILLEGAL_TRANSITION = "illegal_transition"
UNKNOWN_ORDER = "unknown_order"
INVALID_QUANTITY = "invalid_quantity"
INVALID_TIMESTAMP = "invalid_timestamp"
UNKNOWN_LOCATION = "unknown_location"
UNKNOWN_TRANSFER = "unknown_transfer"
UNKNOWN_CATEGORY = "unknown_category"
INVALID_PRODUCT = "invalid_product"
UNKNOWN_EXCEPTION = "unknown_exception"
NOT_AUTHORISED = "not_authorised"


class ProtocolError(PosError):
    """A frame the peer sent cannot be acted on. ``code`` is the documented error code."""

    def __init__(self, code: str, message: str, req: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.req = req


def decode(frame: str | bytes) -> dict[str, Any]:
    """Parse one frame into a message with a string ``type``.

    Raises:
        ProtocolError: not JSON, not an object, or no ``type``.
    """
    if isinstance(frame, bytes):
        raise ProtocolError(BAD_MESSAGE, "Send JSON in text frames, not binary frames.")
    try:
        message = parse(frame)
    except ValueError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):  # 100,000 nested brackets fit the size limit
            raise ProtocolError(BAD_JSON, "That frame nests too deeply to be a message.") from None
        raise ProtocolError(BAD_JSON, "That frame is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError(BAD_MESSAGE, "A message must be a JSON object.")
    req = message.get("req")
    if "req" in message and (not isinstance(req, str) or len(req) > MAX_REQ_LEN):  # null too: not a string
        raise ProtocolError(BAD_MESSAGE, f"'req' must be a string of at most {MAX_REQ_LEN} characters.")
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(BAD_MESSAGE, "A message needs a string 'type'.", req)
    if "\\u0000" in frame:  # looked for only when the frame spells one
        try:
            holds_nul = _holds_nul(message)
        except RecursionError:
            raise ProtocolError(BAD_JSON, "That frame nests too deeply to be a message.") from None
        if holds_nul:  # not echoed when the req itself holds one: the reply would carry what it refuses
            echo = None if req is not None and "\x00" in req else req
            raise ProtocolError(BAD_MESSAGE, "Text in a message must not contain NUL characters (\\u0000).", echo)
    return message


def _holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value has a NUL character in any string (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def encode(message: dict[str, Any]) -> str:
    """One compact JSON text frame."""
    return compact(message)


def error_reply(code: str, message: str, req: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if req is not None:
        reply["req"] = req
    return reply


def field_str(message: dict[str, Any], key: str, max_len: int = 200) -> str:
    """A required non-empty string field.

    Raises:
        ProtocolError: missing, not a string, empty or too long.
    """
    value = message.get(key)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ProtocolError(
            BAD_MESSAGE, f"'{key}' must be a non-empty string of at most {max_len} characters.", message.get("req")
        )
    return value


def field_int(message: dict[str, Any], key: str, *, default: int | None = None, low: int = 0, high: int = 2**62) -> int:
    """An integer field within ``[low, high]``; ``default`` when absent and allowed.

    Raises:
        ProtocolError: missing without a default, not an integer, or out of range.
    """
    value = message.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise ProtocolError(BAD_MESSAGE, f"'{key}' must be a whole number from {low} to {high}.", message.get("req"))
    return value
