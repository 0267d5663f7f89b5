"""Write-behind for the hot path: a command's rows, level changes and feed events, sent at once.

A 3-line sale writes about twenty rows: the sale, its order, taxes, tender, lines, one
movement, one level update and one ``stock.changed`` event per line, the counter. Sent one
statement at a time, the Python around each statement (SQLAlchemy's session, the driver's
parameter binding) costs more than SQLite's work, and it all runs on the one database thread
that every sale of the store waits for. A ``WriteBatch`` collects them and ``flush`` sends
one ``executemany`` per table, the level updates as one, the events as one and the counter
once, on one cursor.

Rules that keep it true:

- events are numbered when added, after every event already added or written, so a seq is
  known at once (the sale row records its ``sale.completed`` seq) and events keep the order
  they were added in; ``flush`` writes the counter row and tells the ORM's copy
  (``state.last_seq``), once rather than for every event;
- anything that reads what the batch holds, or writes an event directly (``append_event``),
  must ``flush`` first: ``Posting`` does before a grant and before flagging exceptions;
- tables are written in the order first added to, so parents (the sale) go before children;
- nothing is written until ``flush``: a command refused before it writes nothing at all. A
  refusal after a flush is rolled back with the request's savepoint like any other write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Session

from pos_core.json_text import compact
from store_server.db.models import FeedEventRow, FeedState
from store_server.db.savepoint import tell
from store_server.feed_event import FeedEvent
from store_server.usecases.clock import now_iso
from store_server.usecases.rows import insert_sql, statement_batch
from store_server.usecases.stock import SET_LEVEL

_ADVANCE = "UPDATE feed_state SET last_seq = :seq WHERE id = :id"


class WriteBatch:
    """Rows, level figures and feed events of one command, written by ``flush``.

    Args:
        state: the feed counter, locked by the caller's transaction (``lock_feed``).
    """

    def __init__(self, session: Session, state: FeedState) -> None:
        self.session = session
        self.state = state
        self.now = now_iso()
        """One timestamp for everything the command records (its rows and events)."""
        self._rows: dict[type[DeclarativeBase], list[Mapping[str, Any]]] = {}
        self._levels: dict[tuple[str, str], dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._written_seq = self._seq = state.last_seq

    def insert(self, model: type[DeclarativeBase], *rows: Mapping[str, Any]) -> None:
        """Add rows (every column name -> value) of ``model``'s table."""
        self._rows.setdefault(model, []).extend(rows)

    def set_level(self, sku: str, location: str, on_hand: int, reserved: int) -> None:
        """The level row's new figures (the last call for a level wins)."""
        self._levels[sku, location] = {"on_hand": on_hand, "reserved": reserved, "sku": sku, "location": location}

    def event(self, kind: str, data: dict[str, Any]) -> FeedEvent:
        """Number an event now, in order after every event already added or written."""
        seq = self._number(kind, compact(data))
        return FeedEvent(seq, kind, self.now, data)

    def encoded_event(self, kind: str, payload: str) -> int:
        """``event`` for a payload already encoded as a JSON object; its seq."""
        return self._number(kind, payload)

    def _number(self, kind: str, payload: str) -> int:
        seq = self._seq = max(self._seq, self.state.last_seq) + 1  # another batch may have written since
        self._events.append({"seq": seq, "type": kind, "occurred_at": self.now, "payload": payload})
        return seq

    @property
    def pending(self) -> bool:
        return bool(self._rows or self._levels or self._events)

    def flush(self) -> None:
        """Write everything added since the last flush, in the caller's transaction."""
        if not self.pending:
            return
        last = self._events[-1]["seq"] if self._events else self._written_seq
        with statement_batch(self.session) as statements:
            for model, rows in self._rows.items():
                statements.executemany(insert_sql(model), rows)
            if self._levels:
                statements.executemany(SET_LEVEL, list(self._levels.values()))
            if self._events:
                statements.executemany(insert_sql(FeedEventRow), self._events)
            if last != self._written_seq:
                statements.execute(_ADVANCE, {"seq": last, "id": self.state.id})
        if self._events:  # else the counter is as the last writer left it, maybe another batch
            tell(self.state, last_seq=last)
        self._written_seq = last
        self._rows, self._levels, self._events = {}, {}, []
