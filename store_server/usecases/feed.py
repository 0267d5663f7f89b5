"""The change feed's log: append inside the changing transaction, read at any pace."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import FeedEventRow, FeedState
from store_server.feed_event import FeedEvent
from store_server.usecases.clock import now_iso

FEED_STATE_ID = 1


def lock_feed(session: Session) -> FeedState:
    """The counter row, locked until commit so events are numbered in commit order.

    On SQLite the ``BEGIN IMMEDIATE`` write lock already serialises writers.
    """
    return session.execute(select(FeedState).where(FeedState.id == FEED_STATE_ID).with_for_update()).scalar_one()


def append_event(session: Session, state: FeedState, kind: str, data: dict[str, Any]) -> FeedEvent:
    """Number and store one event in the current transaction."""
    state.last_seq += 1
    event = FeedEvent(state.last_seq, kind, now_iso(), data)
    session.add(FeedEventRow(seq=event.seq, type=kind, occurred_at=event.at, payload=json.dumps(data)))
    return event


def read_events(session: Session, after_seq: int, limit: int) -> list[FeedEvent]:
    """Up to ``limit`` events with ``seq > after_seq``, in order."""
    rows = session.scalars(
        select(FeedEventRow).where(FeedEventRow.seq > after_seq).order_by(FeedEventRow.seq).limit(limit)
    )
    return [FeedEvent(r.seq, r.type, r.occurred_at, json.loads(r.payload)) for r in rows]


def feed_position(session: Session) -> tuple[str, int]:
    """The feed's epoch and the latest committed seq."""
    state = session.get_one(FeedState, FEED_STATE_ID)
    return state.epoch, state.last_seq
