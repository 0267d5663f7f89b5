"""The card terminal line protocol, version 1, as a pure codec (no I/O).

Every message is one line: a JSON object, ASCII only (non-ASCII text is escaped as ``\\uXXXX``),
no spaces between tokens, keys in the order of the dataclass fields below after ``"v":1`` and
``"type"``, ended by one LF (``0A``); at most ``MAX_LINE`` bytes with the LF. Example::

    {"v":1,"type":"pay","intent_id":"6f1c0a4e-2b8d-4c3e-9a51-0d7e3f2b1c95","amount":1250,"currency":"EUR"}\\n

Decoding is strict about values and lenient about form: any key order and JSON whitespace, a CR
before the LF, unknown keys ignored (and never kept, so nothing unexpected reaches a log or the
store). Card data cannot travel in it: the card is named only by ``last4`` (exactly 4 digits) and
``card_brand`` (no digits); in free text (``prompt.text``, ``declined.reason``, ``error.reason``)
every run of 5 or more digits, even split by single spaces, dots or dashes, becomes ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

PROTOCOL_VERSION = 1
MAX_LINE = 1024
MAX_AMOUNT = 999_999_999
MAX_TEXT = 80

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PROMPT_CODE = re.compile(r"[a-z_]{1,32}")
_AUTH_CODE = re.compile(r"[A-Za-z0-9]{1,8}")
_CARD_BRAND = re.compile(r"[A-Za-z][A-Za-z .&-]{0,23}")
_LAST4 = re.compile(r"[0-9]{4}")
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){4,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

PROMPT_CODES = ("insert_card", "present_card", "enter_pin", "remove_card", "processing", "see_terminal")
"""Prompt codes a register may show in its own words; any other ``[a-z_]`` code shows ``text``."""


class ProtocolError(ValueError):
    """A line that is not a valid v1 message. The text names the problem, never the line's content."""


class UnsupportedVersion(ProtocolError):
    """A well-formed message of another protocol version."""


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise ProtocolError(problem)


def is_intent_id(value: object) -> bool:
    """Whether ``value`` is an intent id as the protocol writes it: a lowercase UUID."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def _intent_id(name: str, value: object, *, optional: bool = False) -> None:
    _check((optional and value is None) or is_intent_id(value), f"{name} must be a lowercase UUID")


def _amount(value: object) -> None:
    _check(type(value) is int and 1 <= value <= MAX_AMOUNT, f"amount must be an integer from 1 to {MAX_AMOUNT}")


def _token(name: str, value: object, pattern: re.Pattern[str]) -> None:
    _check(
        isinstance(value, str) and pattern.fullmatch(value) is not None, f"{name} is not of the form {pattern.pattern}"
    )


def clean_text(value: object, name: str = "text") -> str:
    """Free text made safe to show and log: no control characters, no digit runs, bounded length.

    Raises:
        ProtocolError: ``value`` is not a string.
    """
    _check(isinstance(value, str), f"{name} must be a string")
    assert isinstance(value, str)
    text = _CONTROL.sub("?", value)
    text = _DIGIT_RUN.sub(lambda m: re.sub(r"\d", "*", m.group()), text)
    return text[:MAX_TEXT]


def _clean(message: object, name: str) -> None:
    object.__setattr__(message, name, clean_text(getattr(message, name), name))


# -- requests: register -> terminal --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Pay:
    TYPE: ClassVar[str] = "pay"
    intent_id: str
    amount: int
    currency: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)
        _amount(self.amount)
        _token("currency", self.currency, _CURRENCY)


@dataclass(frozen=True, slots=True)
class Refund:
    TYPE: ClassVar[str] = "refund"
    intent_id: str
    amount: int
    currency: str
    original_intent_id: str | None = None

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)
        _amount(self.amount)
        _token("currency", self.currency, _CURRENCY)
        _intent_id("original_intent_id", self.original_intent_id, optional=True)


@dataclass(frozen=True, slots=True)
class Status:
    TYPE: ClassVar[str] = "status"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


@dataclass(frozen=True, slots=True)
class Cancel:
    TYPE: ClassVar[str] = "cancel"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


# -- replies and events: terminal -> register ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Accepted:
    """The terminal took the pay/refund; or, answering ``status``, it is still in progress."""

    TYPE: ClassVar[str] = "accepted"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the terminal asks of the customer now, for the register's screen."""

    TYPE: ClassVar[str] = "prompt"
    intent_id: str
    code: str
    text: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)
        _token("code", self.code, _PROMPT_CODE)
        _clean(self, "text")


@dataclass(frozen=True, slots=True)
class Approved:
    TYPE: ClassVar[str] = "approved"
    intent_id: str
    auth_code: str
    card_brand: str
    last4: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)
        _token("auth_code", self.auth_code, _AUTH_CODE)
        _token("card_brand", self.card_brand, _CARD_BRAND)
        _token("last4", self.last4, _LAST4)


@dataclass(frozen=True, slots=True)
class Declined:
    TYPE: ClassVar[str] = "declined"
    intent_id: str
    reason: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)
        _clean(self, "reason")


@dataclass(frozen=True, slots=True)
class Cancelled:
    TYPE: ClassVar[str] = "cancelled"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


@dataclass(frozen=True, slots=True)
class UnknownIntent:
    TYPE: ClassVar[str] = "unknown_intent"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


@dataclass(frozen=True, slots=True)
class Busy:
    """The terminal is working on another intent and did not take this one."""

    TYPE: ClassVar[str] = "busy"
    intent_id: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id)


@dataclass(frozen=True, slots=True)
class Error:
    """The terminal could not read the request (``intent_id`` is null when it could not tell)."""

    TYPE: ClassVar[str] = "error"
    intent_id: str | None
    reason: str

    def __post_init__(self) -> None:
        _intent_id("intent_id", self.intent_id, optional=True)
        _clean(self, "reason")


Request = Pay | Refund | Status | Cancel
Reply = Accepted | Prompt | Approved | Declined | Cancelled | UnknownIntent | Busy | Error
FINAL_REPLIES = (Approved, Declined, Cancelled)

_REQUESTS: dict[str, type[Request]] = {cls.TYPE: cls for cls in (Pay, Refund, Status, Cancel)}
_REPLIES: dict[str, type[Reply]] = {
    cls.TYPE: cls for cls in (Accepted, Prompt, Approved, Declined, Cancelled, UnknownIntent, Busy, Error)
}


def encode(message: Request | Reply) -> bytes:
    """The exact bytes of ``message``, LF included."""
    body: dict[str, object] = {"v": PROTOCOL_VERSION, "type": message.TYPE}
    body.update((f.name, getattr(message, f.name)) for f in fields(message))
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def decode_request(line: bytes) -> Request:
    """The request in one line (with or without its LF).

    Raises:
        UnsupportedVersion: ``v`` is another integer.
        ProtocolError: anything else that is not a valid v1 request.
    """
    request: Request = _decode(line, _REQUESTS)
    return request


def decode_reply(line: bytes) -> Reply:
    """The reply or event in one line (with or without its LF).

    Raises:
        UnsupportedVersion: ``v`` is another integer.
        ProtocolError: anything else that is not a valid v1 reply.
    """
    reply: Reply = _decode(line, _REPLIES)
    return reply


def _decode(line: bytes, table: Mapping[str, type[Any]]) -> Any:
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    _check(len(line) < MAX_LINE, f"line longer than {MAX_LINE} bytes")
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ProtocolError("not a JSON line") from None
    _check(isinstance(obj, dict), "not a JSON object")
    version = obj.get("v")
    if type(version) is int and version != PROTOCOL_VERSION:
        raise UnsupportedVersion(f"protocol version {version} is not {PROTOCOL_VERSION}")
    _check(version == PROTOCOL_VERSION and type(version) is int, "no protocol version")
    kind = obj.get("type")
    cls = table.get(kind) if isinstance(kind, str) else None
    _check(cls is not None, "unknown message type")
    assert cls is not None
    return cls(**{f.name: obj.get(f.name) for f in fields(cls)})  # each field validates itself


def take_lines(buffer: bytearray) -> list[bytes]:
    """Remove and return each complete line (LF included) at the start of ``buffer``.

    Raises:
        ProtocolError: the unfinished rest is already ``MAX_LINE`` bytes long (not this protocol).
    """
    lines = []
    while (end := buffer.find(b"\n")) >= 0:
        lines.append(bytes(buffer[: end + 1]))
        del buffer[: end + 1]
    _check(len(buffer) < MAX_LINE, f"line longer than {MAX_LINE} bytes")
    return lines
