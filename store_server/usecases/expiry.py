"""Expiring holds whose time ran out: reserved -> on hand, ``reservation.expired``.

The store server sweeps on a timer; each sweep is one write transaction of at most
``limit`` reservations, oldest expiry first, so a backlog never blocks sales for long.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.inventory import iso
from store_server.db.models import Reservation
from store_server.usecases.clock import utc_now
from store_server.usecases.feed import lock_feed
from store_server.usecases.orders import hold_expired
from store_server.usecases.reservations import EXPIRED, PENDING, ReservationResult, close_reservation

log = logging.getLogger(__name__)

EXPIRY_ACTOR = "system:expiry"


def expire_due(session: Session, now: datetime | None = None, limit: int = 200) -> list[ReservationResult]:
    """Expire pending reservations whose ``expires_at`` is at or before ``now``.

    An order whose hold expired goes back to ``placed`` with nothing held (``order.updated``);
    the storefront may update it to try again, or cancel it.

    Returns:
        The reservations expired, at most ``limit``; run again while it returns ``limit``.
    """
    state = lock_feed(session)
    due = session.scalars(
        select(Reservation)
        .where(
            Reservation.status == PENDING,
            Reservation.expires_at.is_not(None),
            Reservation.expires_at <= iso(now or utc_now()),
        )
        .order_by(Reservation.expires_at, Reservation.id)
        .limit(limit)
    ).all()
    expired = []
    for reservation in due:
        expired.append(
            close_reservation(session, state, reservation, EXPIRED, actor=EXPIRY_ACTOR, key=f"expire:{reservation.id}")
        )
        if reservation.order_id is not None:
            hold_expired(session, state, reservation.order_id)
    if expired:
        log.info("expired %d reservations", len(expired))
    return expired
