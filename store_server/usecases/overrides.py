"""Overrides: what a cashier may not do alone, authorised by a manager and logged (DESIGN.md §7).

The manager's PIN is checked like a login (``register_overrides``, through the login guard);
here the rules: the authoriser must be an active manager, and a different person from the one
the override is for. Every authorised override is appended to the ``overrides`` table, which is
never updated or deleted from.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import Cashier, OverrideRow
from store_server.errors import NotAuthorised, UnknownCashier
from store_server.usecases.cashiers import MANAGER, CashierInfo
from store_server.usecases.clock import now_iso

log = logging.getLogger(__name__)

SETTLE_PAID = "card.settle_paid"
SETTLE_UNPAID = "card.settle_unpaid"
UNLOCK = "cashier.unlock"
ACTIONS: Mapping[str, str] = {
    SETTLE_PAID: "mark a card payment whose outcome is unknown as paid",
    SETTLE_UNPAID: "mark a card payment whose outcome is unknown as not paid",
    UNLOCK: "unlock a cashier locked out after too many wrong PINs",
}
"""What a manager can authorise, and how a sentence names it."""
FOR_THE_REQUESTER = frozenset({SETTLE_PAID, SETTLE_UNPAID})
"""Overrides of the cashier who asks: their manager must be someone else, and someone must ask."""


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    id: str
    action: str
    subject: str
    requested_by: str | None
    manager_id: str
    manager_name: str
    register: str
    created_at: str


def refuse_same_person(action: str, manager_id: str, subject: str, requested_by: str | None) -> None:
    """Refuse an override its authoriser would grant to themself, before their PIN is checked.

    Raises:
        NotAuthorised: the manager is the cashier who asks for it, or the cashier it unlocks.
    """
    if action in FOR_THE_REQUESTER and manager_id == requested_by:
        raise NotAuthorised(
            f"A manager cannot authorise their own override (to {ACTIONS[action]}); ask another manager."
        )
    if action == UNLOCK and manager_id == subject:
        raise NotAuthorised("A manager cannot unlock themself; ask another manager.")


def record_override(
    session: Session,
    action: str,
    subject: str,
    manager: CashierInfo,
    *,
    requested_by: str | None,
    register: str,
) -> OverrideRecord:
    """Append the override ``manager`` (whose PIN was checked) authorised.

    Raises:
        NotAuthorised: ``manager`` is not an active manager, or is the person the override is for.
        UnknownCashier: ``cashier.unlock`` of someone who is not an active cashier.
    """
    refuse_same_person(action, manager.id, subject, requested_by)
    row = session.get(Cashier, manager.id)
    if row is None or not row.active or row.role != MANAGER:
        raise NotAuthorised(f"{manager.name} is not a manager, so cannot {ACTIONS[action]}; ask a manager.")
    if action == UNLOCK:
        locked = session.get(Cashier, subject)
        if locked is None or not locked.active:
            raise UnknownCashier("There is no active cashier with that id to unlock; check the id.")
    record = OverrideRow(
        id=str(uuid.uuid4()),
        action=action,
        subject=subject,
        requested_by=requested_by,
        manager_id=manager.id,
        register=register,
        created_at=now_iso(),
    )
    session.add(record)
    session.flush()
    log.info("override authorised action=%s subject=%s manager=%s requested_by=%s register=%s",
             action, subject, manager.id, requested_by, register)  # fmt: skip
    return _record(record, manager.name)


def list_overrides(session: Session, limit: int = 100) -> list[OverrideRecord]:
    """The latest ``limit`` overrides, newest first."""
    rows = session.execute(
        select(OverrideRow, Cashier.name)
        .join(Cashier, Cashier.id == OverrideRow.manager_id)
        .order_by(OverrideRow.created_at.desc(), OverrideRow.id)
        .limit(limit)
    )
    return [_record(row, name) for row, name in rows]


def _record(row: OverrideRow, manager_name: str) -> OverrideRecord:
    return OverrideRecord(row.id, row.action, row.subject, row.requested_by, row.manager_id, manager_name,
                          row.register, row.created_at)  # fmt: skip
