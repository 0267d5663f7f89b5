"""``override.authorise`` on ``/register``: a manager's id and PIN authorise what a cashier may not
do alone (DESIGN.md §7), and the override is logged.

The PIN is checked exactly as a login is (``RegisterSession._login``: the same scrypt off the
database threads, growing delay, lockout and closed connection), so an override cannot be used
to guess a manager's PIN faster than logging in could. Kept out of ``register_endpoint`` so that
module stays a dispatcher; the endpoint adds the reply's ``type`` and ``req``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pos_core.protocol import BAD_MESSAGE, NOT_LOGGED_IN, ProtocolError, field_str
from pos_core.tender import CARD_REFERENCE_FORM, is_card_reference
from store_server.db.engine import Database
from store_server.usecases.cashiers import CashierInfo
from store_server.usecases.overrides import (
    ACTIONS,
    FOR_THE_REQUESTER,
    UNLOCK,
    OverrideRecord,
    record_override,
    refuse_same_person,
)

if TYPE_CHECKING:
    from store_server.register_endpoint import RegisterSession

log = logging.getLogger(__name__)


async def override_fields(session: RegisterSession, message: dict[str, Any], req: str | None) -> dict[str, Any]:
    """The reply's fields for ``{"type": "override.authorise", "action", "subject", "manager_id", "pin"}``.

    Raises:
        ProtocolError: a field is missing or wrong (``bad_message``), nobody is logged in for an
            override of the cashier who asks (``not_logged_in``), the manager is locked out.
        RequestRefused: ``not_authorised``, ``unknown_cashier``, ``wrong_pin``.
    """
    action = field_str(message, "action", max_len=64)
    if action not in ACTIONS:
        raise ProtocolError(BAD_MESSAGE, f"'action' must be one of {', '.join(sorted(ACTIONS))}.", req)
    subject = field_str(message, "subject")
    if action in FOR_THE_REQUESTER and not is_card_reference(subject):  # the log keeps what it is given, for ever
        raise ProtocolError(BAD_MESSAGE, f"'subject' must be the card payment's id: {CARD_REFERENCE_FORM}.", req)
    manager_id = field_str(message, "manager_id")
    pin = field_str(message, "pin", max_len=20)
    requester = session.cashier
    if action in FOR_THE_REQUESTER and requester is None:
        raise ProtocolError(NOT_LOGGED_IN, "Log a cashier in on this connection before asking a manager.", req)
    requested_by = requester.id if requester is not None else None
    refuse_same_person(action, manager_id, subject, requested_by)  # before a PIN is spent on it
    manager = await session._login(manager_id, pin, req)  # the one PIN check, see the module docs
    db = session.db
    record: OverrideRecord = await db.run(_record, db, (action, subject, manager, requested_by, session.peer))
    was_locked = session.guard.unlock(subject) if action == UNLOCK else None
    return {
        "override_id": record.id,
        "action": record.action,
        "subject": record.subject,
        "manager": {"id": manager.id, "name": manager.name},
        "at": record.created_at,
        "was_locked": was_locked,
    }


def _record(db: Database, override: tuple[str, str, CashierInfo, str | None, str]) -> OverrideRecord:
    action, subject, manager, requested_by, peer = override
    with db.write() as session:
        return record_override(session, action, subject, manager, requested_by=requested_by, register=peer)
