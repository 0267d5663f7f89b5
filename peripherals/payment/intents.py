"""Payment intents on disk: what the register asked a card terminal, written before it asks.

One SQLite file (``payment_intents.sqlite3``, WAL, ``synchronous=FULL`` so every commit is on
disk before it returns) holds one row per intent. The register writes the intent (``created``),
marks it ``sent`` just before the request leaves, and records the terminal's answer
(``approved``, ``declined``, ``cancelled``) or ``unknown`` when no answer came. A crash at any point
therefore leaves a row that says exactly how far it got, and recovery asks the terminal about
it instead of charging again.

A partial unique index allows one outstanding intent (``created``, ``sent`` or ``unknown``) per
terminal, so even two processes cannot start a second payment on a terminal that is busy.

Only what a receipt may show is kept: the auth code, card brand and the last 4 digits.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from peripherals.errors import DeviceUnavailable, PeripheralError
from pos_core.money import format_money

log = logging.getLogger(__name__)

FILE_NAME = "payment_intents.sqlite3"


class IntentState(enum.Enum):
    CREATED = "created"  # written; the request has not left the register
    SENT = "sent"  # the request may have reached the terminal
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # cancelled at the terminal, or never sent: no money moved
    UNKNOWN = "unknown"  # no answer: ask the terminal (recover) before doing anything else

    @property
    def outstanding(self) -> bool:
        return self in (IntentState.CREATED, IntentState.SENT, IntentState.UNKNOWN)


class IntentKind(enum.Enum):
    PAY = "pay"
    REFUND = "refund"


_NEXT: dict[IntentState, frozenset[IntentState]] = {
    IntentState.CREATED: frozenset({IntentState.SENT, IntentState.CANCELLED}),
    IntentState.SENT: frozenset(
        {IntentState.APPROVED, IntentState.DECLINED, IntentState.CANCELLED, IntentState.UNKNOWN}
    ),
}
_NEXT[IntentState.UNKNOWN] = _NEXT[IntentState.SENT]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payment_intent (
    intent_id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pay', 'refund')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    sale_ref TEXT NOT NULL,
    original_intent_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('created', 'sent', 'approved', 'declined', 'cancelled', 'unknown')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    auth_code TEXT,
    card_brand TEXT,
    last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
    detail TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_outstanding_intent_per_terminal
    ON payment_intent (terminal_id) WHERE state IN ('created', 'sent', 'unknown');
"""
_COLUMNS = (
    "intent_id, terminal_id, kind, amount, currency, sale_ref, original_intent_id, state, "
    "created_at, updated_at, auth_code, card_brand, last4, detail"
)
# Built from constants only, so the f-strings cannot carry input.
_SELECT = f"SELECT {_COLUMNS} FROM payment_intent"  # noqa: S608
_BY_ID = f"{_SELECT} WHERE intent_id = ?"
_OUTSTANDING = f"{_SELECT} WHERE terminal_id = ? AND state IN ('created', 'sent', 'unknown')"
_INSERT = f"INSERT INTO payment_intent ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"  # noqa: S608


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """One request to a terminal and how far it got. Money in minor units of ``currency``."""

    intent_id: str
    terminal_id: str
    kind: IntentKind
    amount: int
    currency: str
    sale_ref: str
    original_intent_id: str | None
    state: IntentState
    created_at: str
    updated_at: str
    auth_code: str | None = None
    card_brand: str | None = None
    last4: str | None = None
    detail: str | None = None  # decline reason, or why we stopped waiting; never card data

    @property
    def money(self) -> str:
        return format_money(self.amount, self.currency)

    @classmethod
    def _from_row(cls, row: tuple[object, ...]) -> PaymentIntent:
        values = list(row)
        values[2] = IntentKind(values[2])
        values[7] = IntentState(values[7])
        return cls(*values)  # type: ignore[arg-type]


class TerminalBusy(PeripheralError):
    """A new payment or refund while the terminal still has one outstanding."""

    def __init__(self, intent: PaymentIntent) -> None:
        noun = "payment" if intent.kind is IntentKind.PAY else "refund"
        super().__init__(f"The card terminal is still busy with a {noun} of {intent.money}; finish or cancel it first.")
        self.intent = intent


def _to_row(intent: PaymentIntent) -> tuple[object, ...]:
    values = [getattr(intent, name.strip()) for name in _COLUMNS.split(",")]
    values[2], values[7] = intent.kind.value, intent.state.value
    return tuple(values)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class IntentStore:
    """The intents of every terminal of this register, in ``directory/payment_intents.sqlite3``.

    Thread-safe: a payment runs on the terminal's worker while a cancel may come from another
    thread; one lock serialises them on the single connection.

    Raises:
        DeviceUnavailable: the file cannot be created or opened.
    """

    def __init__(self, directory: Path, *, clock: Callable[[], str] = _utc_now) -> None:
        self.path = directory / FILE_NAME
        self._clock = clock
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise DeviceUnavailable(
                f"The payment record {self.path} cannot be opened ({exc}); check the disk and the folder's permissions."
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed (and so fsynced) when the block ends."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise DeviceUnavailable(
                    f"The payment record {self.path} cannot be written ({exc}); check the disk has space."
                ) from exc

    # -- reading -------------------------------------------------------------------------------
    def _one(self, db: sqlite3.Connection, query: str, key: str) -> PaymentIntent | None:
        row = db.execute(query, (key,)).fetchone()
        return PaymentIntent._from_row(row) if row else None

    def get(self, intent_id: str) -> PaymentIntent | None:
        with self._lock:
            return self._one(self._db, _BY_ID, intent_id)

    def outstanding(self, terminal_id: str) -> PaymentIntent | None:
        """The one intent of ``terminal_id`` still ``created``, ``sent`` or ``unknown``, if any."""
        with self._lock:
            return self._one(self._db, _OUTSTANDING, terminal_id)

    def intents(self, terminal_id: str | None = None) -> list[PaymentIntent]:
        """Every intent (of one terminal), oldest first: for reports and reconciliation."""
        where, params = (" WHERE terminal_id = ?", (terminal_id,)) if terminal_id is not None else ("", ())
        with self._lock:
            rows = self._db.execute(_SELECT + where + " ORDER BY rowid", params).fetchall()
        return [PaymentIntent._from_row(row) for row in rows]

    # -- writing -------------------------------------------------------------------------------
    def create(
        self,
        *,
        terminal_id: str,
        kind: IntentKind,
        amount: int,
        currency: str,
        sale_ref: str,
        original_intent_id: str | None = None,
    ) -> PaymentIntent:
        """Write a new ``created`` intent with a fresh UUID; it is on disk when this returns.

        Raises:
            TerminalBusy: the terminal already has an outstanding intent.
            DeviceUnavailable: the file cannot be written.
        """
        now = self._clock()
        intent = PaymentIntent(
            str(uuid.uuid4()), terminal_id, kind, amount, currency, sale_ref, original_intent_id,
            IntentState.CREATED, now, now,
        )  # fmt: skip
        with self._write() as db:
            busy = self._one(db, _OUTSTANDING, terminal_id)
            if busy is None:
                db.execute(_INSERT, _to_row(intent))
        if busy is not None:
            raise TerminalBusy(busy)
        log.info(
            "intent %s created: %s %s for %s on %s", intent.intent_id, kind.value, intent.money, sale_ref, terminal_id
        )
        return intent

    def transition(
        self,
        intent_id: str,
        state: IntentState,
        *,
        auth_code: str | None = None,
        card_brand: str | None = None,
        last4: str | None = None,
        detail: str | None = None,
        only_from: IntentState | None = None,
    ) -> PaymentIntent:
        """Move an intent to ``state`` and return it as stored.

        A settled intent (approved, declined, cancelled) never changes again: the first answer
        recorded is kept and returned, so a late duplicate answer cannot rewrite history. With
        ``only_from``, an intent in any other state is returned unchanged (a compare-and-set).

        Raises:
            KeyError: no such intent.
            ValueError: the step is not allowed (e.g. ``created`` -> ``approved``): a bug.
            DeviceUnavailable: the file cannot be written.
        """
        now = self._clock()
        with self._write() as db:
            current = self._one(db, _BY_ID, intent_id)
            if current is None:
                raise KeyError(intent_id)
            if only_from is not None and current.state is not only_from:
                return current
            if not current.state.outstanding:
                if current.state is not state:
                    log.warning("intent %s is %s; ignoring a later %s", intent_id, current.state.value, state.value)
                return current
            if state not in _NEXT[current.state]:
                raise ValueError(f"intent {intent_id} cannot go from {current.state.value} to {state.value}")
            updated = replace(
                current, state=state, updated_at=now, auth_code=auth_code, card_brand=card_brand, last4=last4,
                detail=detail,
            )  # fmt: skip
            db.execute(
                "UPDATE payment_intent SET state = ?, updated_at = ?, auth_code = ?, card_brand = ?, last4 = ?, "
                "detail = ? WHERE intent_id = ?",
                (state.value, now, auth_code, card_brand, last4, detail, intent_id),
            )
        log.info("intent %s: %s -> %s", intent_id, current.state.value, state.value)
        return updated
