"""Exactly once: every state-changing request is remembered with its first result.

A request carries a client-made id. The first time, the command runs and its result is
stored with a fingerprint of the payload, in the same transaction. A repeat with the same
payload gets the stored result (marked ``duplicate``) and changes nothing; the same id with
another payload or for another command is refused with ``idempotency_conflict``. A refused
request writes nothing, so it is not remembered: sending it again tries again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy.orm import Session

from pos_core.json_text import canonical, compact, parse
from store_server.db.models import FeedState, RequestRecord
from store_server.db.savepoint import savepoint
from store_server.errors import IdempotencyConflict
from store_server.usecases.clock import now_iso
from store_server.usecases.feed import lock_feed
from store_server.usecases.rows import fetch_all, fetch_in, insert_rows

FIND = 'SELECT kind, payload_hash, result FROM requests WHERE "key" = :key'
_FIND_MANY = 'SELECT "key", kind, payload_hash, result FROM requests WHERE "key" IN (:values)'


class Replayable(Protocol):
    """A use case's result: a dataclass with ``duplicate`` that round-trips through JSON."""

    @property
    def duplicate(self) -> bool: ...

    def to_wire(self) -> dict[str, Any]: ...

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self: ...


R = TypeVar("R", bound=Replayable)


@dataclass(frozen=True, slots=True)
class Request:
    key: str
    """The client-made request id."""
    kind: str
    """The command, e.g. ``order.place``; the same id may not be reused for another."""
    actor: str
    payload_hash: str


def fingerprint(payload: Any) -> str:
    """A stable SHA-256 of JSON-able content, to tell a resend from a conflict."""
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def command_request(kind: str, command: Any) -> Request:
    """The request for a command dataclass with ``request_id`` and ``actor``; every other
    field is the payload."""
    payload = {k: v for k, v in dataclasses.asdict(command).items() if k not in ("request_id", "actor")}
    return Request(command.request_id, kind, command.actor, fingerprint(payload))


def replay(session: Session, request: Request) -> dict[str, Any] | None:
    """The stored first result of ``request``, or None when it is new.

    Raises:
        IdempotencyConflict: the id was used before for other content or another command.
    """
    rows = fetch_all(session, FIND, {"key": request.key})
    return first_result(request, rows[0] if rows else None)


Stored = tuple[str, str, str]
"""A remembered request: its kind, payload hash and result as JSON."""


def stored_requests(session: Session, keys: Sequence[str]) -> dict[str, Stored]:
    """The remembered requests among ``keys`` (one query for a batch of requests)."""
    rows = fetch_in(session, _FIND_MANY, keys)
    return {key: (kind, payload_hash, result) for key, kind, payload_hash, result in rows}


def first_result(request: Request, stored: Stored | None) -> dict[str, Any] | None:
    """The first result of ``request`` from its stored record, or None when it has none.

    Raises:
        IdempotencyConflict: the id was used before for other content or another command.
    """
    if stored is None:
        return None
    kind, payload_hash, result = stored
    if kind != request.kind or payload_hash != request.payload_hash:
        raise IdempotencyConflict(
            f"Request id {request.key} was already used for {kind} with different content;"
            " make a new id for a new request."
        )
    first: dict[str, Any] = parse(result)
    return first


def remember(session: Session, request: Request, result: dict[str, Any]) -> None:
    """Store ``result`` as the answer to ``request`` in the current transaction."""
    insert_rows(session, RequestRecord, [record_of(request, result)])


def record_of(request: Request, result: dict[str, Any]) -> dict[str, Any]:
    """The ``requests`` row remembering ``result`` as the answer to ``request``."""
    return {
        "key": request.key,
        "kind": request.kind,
        "actor": request.actor,
        "payload_hash": request.payload_hash,
        "result": compact(result),
        "created_at": now_iso(),
    }


def run_once(
    session: Session, request: Request, result_type: type[R], run: Callable[[FeedState], R], *, checked: bool = False
) -> R:
    """Run a command at most once, in the caller's write transaction.

    Takes the feed lock first, so concurrent repeats of one request are serialised and the
    second sees the first's record.

    Args:
        run: the command's body; gets the locked feed state for ``append_event``.
        checked: ``run`` refuses only before it writes anything, so it needs no savepoint
            (the sale, the hot path, checks first).

    Returns:
        The command's result, or the first result (with ``duplicate`` set) for a repeat.

    Raises:
        IdempotencyConflict: the id was used for other content; nothing is written.
        RequestRefused: whatever ``run`` refuses with; what it wrote is rolled back.
    """
    state = lock_feed(session)
    prior = replay(session, request)
    if prior is not None:
        return dataclasses.replace(result_type.from_wire(prior), duplicate=True)  # type: ignore[type-var]
    # A command refused halfway (say, the third line of a transfer) leaves the caller's
    # transaction as it found it, even if the caller goes on to commit other work.
    if checked:
        result = run(state)
    else:
        with savepoint(session):
            result = run(state)
    remember(session, request, result.to_wire())
    return result
