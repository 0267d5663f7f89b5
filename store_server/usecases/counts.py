"""Physical counts: absolute and timestamped (docs/inventory.md, "The count rule").

A count says how many units of a SKU were on the shelf at ``counted_at``. The correction
is computed against what the books said at that moment: movements recorded already but
made at or after ``counted_at`` stay on top of the counted figure. A sale made before the count
but synced after it is absorbed (``Posting.move``). A count older than one already applied
to the same SKU and location is recorded as ``superseded`` and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pos_core.inventory import Reason, StockLine, count_route, count_supersedes, effect, expected_at
from store_server.db.models import FeedState, StockCount, StockMovement
from store_server.errors import QuantityRefused
from store_server.usecases import checks
from store_server.usecases.clock import now_iso, utc_now
from store_server.usecases.posting import Posting
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.stock import APPLIED, DEFAULT_LOCATION, level_row, level_wire

SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class Count:
    """Units counted per SKU (zero allowed) at ``counted_at`` at one location."""

    request_id: str
    """Also the count's document id."""
    actor: str
    counted_at: str | None
    """When it was counted; None for now (the server's clock), so a retry is the same command."""
    lines: tuple[StockLine, ...]
    location: str = DEFAULT_LOCATION


@dataclass(frozen=True, slots=True)
class CountedLine:
    sku: str
    counted: int
    expected: int
    """What the books said was on hand at the count's time."""
    delta: int
    """The correction made; 0 when the count agreed or was superseded."""
    status: str
    """``applied`` or ``superseded`` (an as old or later count was applied before)."""


@dataclass(frozen=True, slots=True)
class CountResult:
    count_id: str
    counted_at: str
    lines: tuple[CountedLine, ...]
    levels: tuple[dict[str, Any], ...]
    exceptions: tuple[str, ...] = ()
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "count_id": self.count_id,
            "counted_at": self.counted_at,
            "lines": [
                {"sku": ln.sku, "counted": ln.counted, "expected": ln.expected, "delta": ln.delta, "status": ln.status}
                for ln in self.lines
            ],
            "levels": list(self.levels),
            "exceptions": list(self.exceptions),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        lines = tuple(CountedLine(**ln) for ln in data["lines"])
        return cls(data["count_id"], data["counted_at"], lines, tuple(data["levels"]), tuple(data["exceptions"]))


def record_count(session: Session, cmd: Count, now: datetime | None = None) -> CountResult:
    """Apply a physical count; emits ``stock.changed`` for every correction.

    Raises:
        QuantityRefused: a count below zero, absurdly high, or a SKU counted twice.
        TimestampRefused: ``counted_at`` is not a timestamp or lies in the future.
        UnknownSku, UnknownLocation, BadRequest: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "count id")
    lines = checks.lines(cmd.lines, "count", allow_zero=True)
    skus = [line.sku for line in lines]
    twice = sorted({sku for sku in skus if skus.count(sku) > 1})
    if twice:
        raise QuantityRefused(f"SKU {', '.join(twice)} appears twice in the count; send one line with the total.")
    checks.known_location(session, cmd.location)
    checks.known_skus(session, skus)

    def run(state: FeedState) -> CountResult:
        # Checked after the replay lookup: a retry of a count accepted days ago gets its first
        # answer, not a refusal of a time that was fine when it was sent.
        counted_at = checks.count_time(cmd.counted_at, now or utc_now())
        posting = Posting(
            session,
            state,
            document_type="count",
            document_id=cmd.request_id,
            key=f"stock.count:{cmd.request_id}",
            actor=cmd.actor,
            occurred_at=counted_at,
        )
        later = _later_movements(session, cmd.location, counted_at, set(skus))
        done = [_count_line(session, posting, cmd, line, counted_at, later=later.get(line.sku, [])) for line in lines]
        exceptions = posting.close()
        levels = tuple(level_wire(level_row(session, line.sku, cmd.location)) for line in lines)
        return CountResult(cmd.request_id, counted_at, tuple(done), levels, tuple(exceptions))

    return run_once(session, command_request("stock.count", cmd), CountResult, run)


def _later_movements(
    session: Session, location: str, counted_at: str, skus: set[str]
) -> dict[str, list[tuple[str, str, int]]]:
    """``(from_bucket, to_bucket, quantity)`` of each movement of ``skus`` at ``location`` that
    happened at or after ``counted_at``, by SKU: what the shelf has seen since it was counted.

    A movement made at the very moment of the count is after it, as the count rule takes a
    movement recorded after the count (``pos_core.inventory.absorbed_by``): the same level
    whichever of the two reaches the server first.

    Read once for the whole count, along the movements' index on ``(occurred_at, location,
    sku)``, which holds all three: a count keyed in late reads the index's entries since then,
    and only its own SKUs' movements. There is no index by SKU: each sale line would write a
    random page of it (docs/benchmarks.md).
    """
    rows = session.execute(
        select(StockMovement.sku, StockMovement.from_bucket, StockMovement.to_bucket, StockMovement.quantity).where(
            StockMovement.occurred_at >= counted_at,
            StockMovement.location == location,
            StockMovement.sku.in_(sorted(skus)),
            # A count at this very instant applied already: its correction is that count, not
            # something the shelf saw after it (this count is superseded; its expected stays true).
            ~((StockMovement.occurred_at == counted_at) & (StockMovement.reason == Reason.COUNT)),
        )
    )
    later: dict[str, list[tuple[str, str, int]]] = {}
    for sku, from_bucket, to_bucket, quantity in rows:
        later.setdefault(sku, []).append((from_bucket, to_bucket, quantity))
    return later


def _count_line(
    session: Session,
    posting: Posting,
    cmd: Count,
    line: StockLine,
    counted_at: str,
    *,
    later: list[tuple[str, str, int]],
) -> CountedLine:
    """One SKU's count; ``later`` are its movements that happened after ``counted_at``."""
    latest = session.scalar(
        select(func.max(StockCount.counted_at)).where(
            StockCount.sku == line.sku, StockCount.location == cmd.location, StockCount.status == APPLIED
        )
    )
    level = level_row(session, line.sku, cmd.location)
    expected = expected_at(level.on_hand, (effect(f, t, q).on_hand for f, t, q in later))
    applies = count_supersedes(counted_at, latest)
    delta = line.quantity - expected if applies else 0
    session.add(
        StockCount(
            id=str(uuid.uuid4()),
            document_id=cmd.request_id,
            sku=line.sku,
            location=cmd.location,
            counted_at=counted_at,
            counted=line.quantity,
            expected=expected,
            status=APPLIED if applies else SUPERSEDED,
            actor=cmd.actor,
            recorded_at=now_iso(),
        )
    )
    route = count_route(delta)
    if route is not None:
        from_bucket, to_bucket, quantity = route
        posting.move(line.sku, quantity, Reason.COUNT, location=cmd.location, route=(from_bucket, to_bucket))
    return CountedLine(line.sku, line.quantity, expected, delta, APPLIED if applies else SUPERSEDED)
