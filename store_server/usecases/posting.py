"""A posting: the movements one command makes under one document, with their feed events.

Each movement is written with its level change and a ``stock.changed`` event in the
caller's transaction. Two rules live here so every command gets them:

- the count rule: a movement that happened before an applied count of its SKU and location
  but is recorded after it is written with ``absorbed_by_count`` and an equal and opposite
  count correction, so the count's absolute figure stands (docs/inventory.md);
- the at-risk rule: ``close`` flags every level the posting left with more reserved than on
  hand (and worse than before), recording an exception and ``reservation.at_risk``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from pos_core.inventory import ROUTES, Effect, Level, Reason, count_route, effect
from pos_core.json_text import compact
from store_server.db.models import FeedState, StockMovement
from store_server.usecases.batch import WriteBatch
from store_server.usecases.feed import append_event
from store_server.usecases.stock import (
    DEFAULT_LOCATION,
    LevelLike,
    Move,
    Recorded,
    assign,
    counts_after,
    grant_movement,
    level_row,
    levels_for,
    movement_row,
    record_movement,
    recorded_movement,
    stock_changed,
)
from store_server.usecases.stock_exceptions import flag_uncovered

COUNT_RULE_ACTOR = "system:count"


class Posting:
    """The movements of one command. Call ``close`` once after the last movement."""

    def __init__(
        self,
        session: Session,
        state: FeedState,
        *,
        document_type: str,
        document_id: str,
        key: str,
        actor: str,
        occurred_at: str | None = None,
        batch: WriteBatch | None = None,
        levels: dict[tuple[str, str], LevelLike] | None = None,
        counts: dict[tuple[str, str], tuple[str, str]] | None = None,
    ) -> None:
        """
        Args:
            key: unique to this command (its request id, with a prefix); movement keys extend it.
            occurred_at: when the movements happened, if not now (UTC, ``pos_core.inventory.iso``).
            batch: collect the movements, level changes and events in it, written together
                (``close`` flushes it); the caller then reads nothing between moves.
            levels: levels already read (``prefetch`` adds to them), by SKU and location, shared
                with whoever passed them: postings of one batch that share them see each
                other's moves.
            counts: the counts the count rule applies to this posting's movements
                (``stock.counts_after(occurred_at)``), if the caller has read them.
        """
        self.session = session
        self.state = state
        self.document_type = document_type
        self.document_id = document_id
        self.key = key
        self.actor = actor
        self.occurred_at = occurred_at
        self.batch = batch
        self._n = 0
        self._before: dict[tuple[str, str], Level] = {}
        self._levels: dict[tuple[str, str], LevelLike] = {}
        self._counts = counts
        self._loaded: dict[tuple[str, str], LevelLike] = {} if levels is None else levels

    def prefetch(self, skus: Iterable[str], location: str = DEFAULT_LOCATION) -> None:
        """Read the levels of ``skus`` in one query before moving them (else one query per move)."""
        for sku, level in levels_for(self.session, skus, location).items():
            self._loaded[sku, location] = level

    def move(
        self,
        sku: str,
        quantity: int,
        reason: Reason,
        *,
        location: str = DEFAULT_LOCATION,
        route: tuple[str, str] | None = None,
    ) -> LevelLike:
        """Move ``quantity`` of ``sku`` the way ``reason`` goes (or along ``route``); never refuses."""
        from_bucket, to_bucket = route or ROUTES[reason]
        change = effect(from_bucket, to_bucket, quantity)
        count = None
        if self.occurred_at is not None and change.on_hand:
            if self._counts is None:
                self._counts = counts_after(self.session, self.occurred_at)
            count = self._counts.get((sku, location))
        move = self._move(
            sku, quantity, (from_bucket, to_bucket), reason, location=location, count=count[0] if count else None
        )
        level = self._record(move, change)
        if count is not None:
            # The count already saw the shelf without (or with) these goods: undo the on-hand effect.
            correction = count_route(-change.on_hand)
            assert correction is not None
            undo_from, undo_to, undo_quantity = correction
            self._n += 1
            level = self._record(
                Move(
                    sku,
                    undo_quantity,
                    undo_from,
                    undo_to,
                    Reason.COUNT,
                    "count",
                    count[1],
                    f"{self.key}:{self._n}",
                    location,
                    COUNT_RULE_ACTOR,
                    self.occurred_at,
                )
            )
        return level

    def seen(self, sku: str, location: str) -> LevelLike | None:
        """The level as this posting last read or left it (None if it never met it)."""
        return self._levels.get((sku, location)) or self._loaded.get((sku, location))

    def grant(self, sku: str, quantity: int, *, location: str) -> LevelLike | None:
        """Reserve ``quantity`` of ``sku`` if available (one conditional UPDATE); None if not."""
        move = self._move(sku, quantity, ROUTES[Reason.RESERVATION], Reason.RESERVATION, location=location, count=None)
        if self.batch is not None:
            self.batch.flush()  # the conditional UPDATE must see every level change before it
        granted = grant_movement(self.session, move, self._loaded.get((sku, location)))
        return None if granted is None else self._publish(granted, effect(move.from_bucket, move.to_bucket, quantity))

    def close(self, *, flush: bool = True) -> list[str]:
        """Flag every level this posting left uncovered (or more uncovered); the exception ids.

        Later calls flag only what moved since the last one.

        Args:
            flush: write the batch now; else only when a level is flagged (an exception's
                event is written directly, so the batch's go first), and the caller flushes.
        """
        if flush and self.batch is not None:
            self.batch.flush()
        flagged = []
        for key, level in self._levels.items():
            before = self._before[key]
            after = Level(level.on_hand, level.reserved, level.safety_stock)
            if after.shortfall > before.shortfall:
                if self.batch is not None:
                    self.batch.flush()  # the exception's event is written directly, after these
                flagged.append(
                    flag_uncovered(
                        self.session,
                        self.state,
                        level,
                        document_type=self.document_type,
                        document_id=self.document_id,
                        actor=self.actor,
                    )
                )
            self._before[key] = after
        return flagged

    @property
    def levels(self) -> list[LevelLike]:
        """The levels touched, in the order first touched."""
        return list(self._levels.values())

    def _move(
        self, sku: str, quantity: int, route: tuple[str, str], reason: str, *, location: str, count: str | None
    ) -> Move:
        self._n += 1
        return Move(
            sku,
            quantity,
            *route,
            reason,
            self.document_type,
            self.document_id,
            f"{self.key}:{self._n}",
            location,
            self.actor,
            self.occurred_at,
            count,
        )

    def _record(self, move: Move, change: Effect | None = None) -> LevelLike:
        """Write ``move`` and its level change now, or add them to the batch.

        Args:
            change: ``move``'s effect on the level, if the caller has worked it out.
        """
        if change is None:
            change = effect(move.from_bucket, move.to_bucket, move.quantity)
        level = self._loaded.get((move.sku, move.location))
        if self.batch is None:
            return self._publish(record_movement(self.session, move, level), change)
        if level is None:
            self.batch.flush()
            level = level_row(self.session, move.sku, move.location)
        on_hand, reserved = level.on_hand + change.on_hand, level.reserved + change.reserved
        movement = recorded_movement(move, self.batch.now)
        self.batch.insert(StockMovement, movement_row(movement))
        self.batch.set_level(move.sku, move.location, on_hand, reserved)
        assign(level, on_hand, reserved)
        return self._publish((movement, level), change)

    def _publish(self, written: tuple[Recorded, LevelLike], change: Effect) -> LevelLike:
        """Note the level as moved by ``change`` (the written movement's effect) and add its event."""
        movement, level = written
        key = (level.sku, level.location)
        if key not in self._before:
            self._before[key] = Level(level.on_hand - change.on_hand, level.reserved - change.reserved, 0)
        self._levels[key] = level
        self._loaded[key] = level
        data = stock_changed(movement, level)
        if self.batch is None:
            append_event(self.session, self.state, "stock.changed", data)
        else:
            self.batch.encoded_event("stock.changed", compact(data))
        return level
