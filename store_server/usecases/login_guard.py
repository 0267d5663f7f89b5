"""Limits on PIN guessing: a growing delay after a few wrong PINs, and a lockout after many.

Kept in memory, per open database: a restart of the store server clears it, and so does a
manager's ``cashier.unlock`` override (``pos store unlock-cashier``) on the running server.
Counts are per cashier (across every register) and, in ``RegisterSession``, per connection. Nothing here
sleeps; the caller awaits ``LoginGuard.sleep`` with the delay, so tests inject their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from store_server.db.engine import Database

log = logging.getLogger(__name__)

FREE_FAILURES = 3
"""Wrong PINs in a row answered at once; each one after waits 1, 2, 4 ... seconds."""
BASE_DELAY_S = 1.0
MAX_DELAY_S = 30.0
LOCKOUT_AFTER = 10
"""Wrong PINs in a row for one cashier that lock them out."""
LOCKOUT_S = 15 * 60.0
CONNECTION_FAILURES = 5
"""Wrong PINs in a row on one connection after which the server closes it."""


def backoff(failures: int) -> float:
    """Seconds to wait before checking a PIN after ``failures`` wrong ones in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(BASE_DELAY_S * 2 ** (failures - FREE_FAILURES), MAX_DELAY_S))


@dataclass
class LoginGuard:
    """Wrong-PIN counts and lockouts per cashier; ``clock`` is monotonic seconds."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _failures: dict[str, int] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def locked(self, cashier_id: str) -> bool:
        """Whether ``cashier_id`` is locked out now (a lockout ends by itself after ``LOCKOUT_S``)."""
        until = self._locked_until.get(cashier_id)
        if until is None:
            return False
        if self.clock() < until:
            return True
        del self._locked_until[cashier_id]
        return False

    def delay(self, cashier_id: str, connection_failures: int = 0) -> float:
        """Seconds to wait before checking the next PIN for ``cashier_id`` on a connection."""
        return max(backoff(self._failures.get(cashier_id, 0)), backoff(connection_failures))

    def failed(self, cashier_id: str, peer: str) -> bool:
        """Count a wrong PIN (never logged); True if it locked the cashier out."""
        failures = self._failures.get(cashier_id, 0) + 1
        log.warning("wrong PIN cashier=%s peer=%s failures=%s", cashier_id, peer, failures)
        if failures >= LOCKOUT_AFTER:
            self._failures.pop(cashier_id, None)
            self._locked_until[cashier_id] = self.clock() + LOCKOUT_S
            log.warning("cashier locked out cashier=%s peer=%s for_s=%s", cashier_id, peer, LOCKOUT_S)
            return True
        self._failures[cashier_id] = failures
        return False

    def succeeded(self, cashier_id: str) -> None:
        self._failures.pop(cashier_id, None)

    def unlock(self, cashier_id: str) -> bool:
        """End ``cashier_id``'s lockout and forget their wrong PINs (a manager authorised it).

        Returns:
            Whether they were locked out.
        """
        was_locked = self.locked(cashier_id)
        self._locked_until.pop(cashier_id, None)
        self._failures.pop(cashier_id, None)
        log.warning("cashier unlocked cashier=%s was_locked=%s", cashier_id, was_locked)
        return was_locked


_GUARDS: weakref.WeakKeyDictionary[Database, LoginGuard] = weakref.WeakKeyDictionary()


def guard_for(db: Database) -> LoginGuard:
    """The one guard of an open database, shared by all its register connections."""
    guard = _GUARDS.get(db)
    if guard is None:
        guard = _GUARDS[db] = LoginGuard()
    return guard
