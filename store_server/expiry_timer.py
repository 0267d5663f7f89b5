"""The reservation expiry timer: every few seconds, expire the holds whose time ran out.

Each sweep is one write transaction of at most ``batch`` reservations on the database's writer
thread, so a backlog is worked off in turns with the sales instead of in front of them. After a
sweep that expired anything, feed consumers are woken so ``reservation.expired`` streams at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from store_server.db.engine import Database
from store_server.errors import StoreError
from store_server.usecases.expiry import expire_due

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
DEFAULT_BATCH = 200


class ExpiryTimer:
    """Sweeps expired reservations while the server runs.

    Args:
        db: the store database; sweeps run on its writer thread.
        on_expired: called after a sweep that expired something (wakes the feed).
        clock: the current time; a test passes one it controls.
        interval_s: seconds between sweeps.
        batch: the most reservations expired in one transaction.
    """

    def __init__(
        self,
        db: Database,
        on_expired: Callable[[], None],
        clock: Callable[[], datetime],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        if interval_s <= 0 or batch < 1:
            raise StoreError("The expiry timer needs an interval above 0 seconds and a batch of at least 1.")
        self._db = db
        self._on_expired = on_expired
        self._clock = clock
        self._interval_s = interval_s
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sweeping on the running loop (the first sweep after one interval)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reservation-expiry")

    async def stop(self) -> None:
        """Stop sweeping; a sweep in progress finishes its transaction on the writer thread."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> int:
        """Expire everything due now, a batch per transaction; how many were expired."""
        now = self._clock()
        total = 0
        while True:
            expired = await self._db.run(_expire_batch, self._db, now, self._batch)
            total += expired
            if expired:
                self._on_expired()
            if expired < self._batch:
                return total

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep()
            except Exception:  # a failed sweep is retried at the next tick; the server keeps serving
                log.exception("reservation expiry sweep failed")


def _expire_batch(db: Database, now: datetime, batch: int) -> int:
    with db.write() as session:
        return len(expire_due(session, now, limit=batch))
