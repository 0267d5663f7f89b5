"""Cashiers and PIN login, and managing cashiers from the back office (``pos store cashier ...``).

PINs are kept only as salted scrypt hashes. A store keeps at least one active manager once it has
one: demoting or deactivating the last is refused, or nobody could authorise an override.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_server.db.models import Cashier, Store
from store_server.errors import RequestRefused, UnknownCashier, WrongPin

# scrypt cost: about 16 MiB and tens of milliseconds per guess.
_N, _R, _P = 2**14, 8, 1
MIN_PIN, MAX_PIN = 4, 12
CASHIER, MANAGER = "cashier", "manager"
ROLES = (CASHIER, MANAGER)
"""A manager may authorise overrides (DESIGN.md §7); a cashier may not."""


@dataclass(frozen=True, slots=True)
class CashierInfo:
    id: str
    name: str
    role: str = CASHIER


@dataclass(frozen=True, slots=True)
class CashierListing:
    """A cashier as the back office lists them: never the PIN's hash."""

    id: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True, slots=True)
class CashierChange:
    """What a role change or deactivation did; ``changed`` False when it was so already."""

    cashier: CashierListing
    changed: bool


@dataclass(frozen=True, slots=True)
class NewPin:
    """A checked PIN, hashed. Made before the write transaction, so the slow hash holds no lock."""

    hash: str

    @classmethod
    def of(cls, pin: str) -> NewPin:
        """Raises: RequestRefused: the PIN is not 4 to 12 digits."""
        check_pin(pin)
        return cls(hash_pin(pin))


def check_pin(pin: str) -> None:
    """Raises: RequestRefused: the PIN is not 4 to 12 digits (0-9 only)."""
    if not (pin.isascii() and pin.isdigit()) or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise RequestRefused(f"A PIN must be {MIN_PIN} to {MAX_PIN} digits (0-9).")


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = _N, r: int = _R, p: int = _P) -> str:
    """A self-describing slow hash of ``pin``: ``scrypt$n$r$p$salt$hash``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """Constant-time comparison of ``pin`` with a stored hash."""
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    again = hash_pin(pin, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(again.rsplit("$", 1)[1], digest)


def add_cashier(session: Session, name: str, pin: str | NewPin, *, role: str = CASHIER) -> CashierInfo:
    """Add an active cashier (``role`` ``manager`` for one who authorises overrides).

    Args:
        pin: the PIN, or a ``NewPin`` hashed before the transaction began.

    Raises:
        RequestRefused: the name is empty or an active cashier has it already (in any case), the
            PIN is not 4 to 12 digits, or the role is unknown.
    """
    name = " ".join(name.split())
    if not name:
        raise RequestRefused("A cashier needs a name.")
    _check_role(role)
    if not isinstance(pin, NewPin):
        check_pin(pin)
    _lock_cashiers(session)
    taken = session.scalar(
        select(Cashier.name).where(Cashier.active.is_(True), func.lower(Cashier.name) == name.lower()).limit(1)
    )
    if taken is not None:
        raise RequestRefused(
            f"There is already an active cashier called {taken!r}; "
            "give the new one a name the login screen can tell apart."
        )
    pin_hash = pin.hash if isinstance(pin, NewPin) else hash_pin(pin)
    cashier = Cashier(id=str(uuid.uuid4()), name=name, pin_hash=pin_hash, active=True, role=role)
    session.add(cashier)
    session.flush()
    return CashierInfo(cashier.id, cashier.name, cashier.role)


def list_cashiers(session: Session) -> list[CashierInfo]:
    """Active cashiers by name, with their role (a register's manager picker lists the managers)."""
    rows = session.scalars(select(Cashier).where(Cashier.active.is_(True)).order_by(Cashier.name, Cashier.id))
    return [CashierInfo(c.id, c.name, c.role) for c in rows]


def list_all_cashiers(session: Session) -> list[CashierListing]:
    """Every cashier, active or not, by name: id, name, role, active; never the hash."""
    rows = session.execute(
        select(Cashier.id, Cashier.name, Cashier.role, Cashier.active).order_by(Cashier.name, Cashier.id)
    )
    return [CashierListing(*row) for row in rows]


def set_role(session: Session, who: str, role: str) -> CashierChange:
    """Make the cashier with id or name ``who`` a ``cashier`` or a ``manager``.

    Raises:
        RequestRefused: the role is unknown, or it would demote the store's last active manager.
        UnknownCashier: no cashier has that id or name, or several share the name.
    """
    _check_role(role)
    _lock_cashiers(session)
    cashier = find_cashier(session, who)
    if cashier.role == role:
        return CashierChange(_listing(cashier), changed=False)
    if cashier.role == MANAGER and cashier.active:
        _refuse_last_manager(session, cashier, "make them a cashier")
    cashier.role = role
    session.flush()
    return CashierChange(_listing(cashier), changed=True)


def deactivate_cashier(session: Session, who: str) -> CashierChange:
    """Deactivate the cashier with id or name ``who``: they can no longer log in or authorise.

    Their sales and overrides keep naming them; the row is never deleted.

    Raises:
        RequestRefused: they are the store's last active manager.
        UnknownCashier: no cashier has that id or name, or several share the name.
    """
    _lock_cashiers(session)
    cashier = find_cashier(session, who)
    if not cashier.active:
        return CashierChange(_listing(cashier), changed=False)
    if cashier.role == MANAGER:
        _refuse_last_manager(session, cashier, "deactivate them")
    cashier.active = False
    session.flush()
    return CashierChange(_listing(cashier), changed=True)


def find_cashier(session: Session, who: str) -> Cashier:
    """The cashier whose id is ``who``, else the one whose name is (an active one before an inactive one).

    Raises:
        UnknownCashier: none, or several with that name.
    """
    by_id = session.get(Cashier, who)
    if by_id is not None:
        return by_id
    name = " ".join(who.split())
    named = list(session.scalars(select(Cashier).where(func.lower(Cashier.name) == name.lower())))
    found = [c for c in named if c.active] or named
    if len(found) == 1:
        return found[0]
    if not found:
        raise UnknownCashier(f"The store has no cashier with the id or name {who!r}; `pos store cashiers` lists them.")
    raise UnknownCashier(f"Several cashiers are called {who!r}; give the id instead (`pos store cashiers` lists them).")


def _listing(cashier: Cashier) -> CashierListing:
    return CashierListing(cashier.id, cashier.name, cashier.role, cashier.active)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise RequestRefused(f"A cashier's role must be {' or '.join(ROLES)}, not {role!r}.")


def _refuse_last_manager(session: Session, cashier: Cashier, doing: str) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(Cashier)
        .where(Cashier.active.is_(True), Cashier.role == MANAGER, Cashier.id != cashier.id)
    )
    if not others:
        raise RequestRefused(
            f"{cashier.name} is the store's last active manager, so we cannot {doing}: nobody could authorise "
            "an override; make another cashier a manager first."
        )


def _lock_cashiers(session: Session) -> None:
    # One changer of cashiers at a time: SQLite's BEGIN IMMEDIATE already is; on PostgreSQL two
    # demotions could otherwise each see the other manager and leave none.
    session.execute(select(Store.id).with_for_update())


def inactive_among(session: Session, ids: set[str]) -> set[str]:
    """Which of the cashiers ``ids`` can no longer log in (deactivated, or not known at all)."""
    if not ids:
        return set()
    active = session.scalars(select(Cashier.id).where(Cashier.id.in_(sorted(ids)), Cashier.active.is_(True)))
    return ids - set(active)


def is_deactivated(session: Session, cashier_id: str) -> bool:
    """Whether ``cashier_id`` is a cashier of this store who was deactivated."""
    cashier = session.get(Cashier, cashier_id)
    return cashier is not None and not cashier.active


def pin_hash_of(session: Session, cashier_id: str) -> tuple[CashierInfo, str]:
    """An active cashier and their stored PIN hash, to check a PIN off the database threads.

    Raises:
        UnknownCashier: no active cashier has that id.
    """
    cashier = _active(session, cashier_id)
    return CashierInfo(cashier.id, cashier.name, cashier.role), cashier.pin_hash


def _active(session: Session, cashier_id: str) -> Cashier:
    """The active cashier with that id.

    Raises:
        UnknownCashier: there is none; the sentence says so by name if they were deactivated.
    """
    cashier = session.get(Cashier, cashier_id)
    if cashier is None:
        raise UnknownCashier("There is no active cashier with that id; pick a name from the list.")
    if not cashier.active:
        raise UnknownCashier(f"{cashier.name} was deactivated by a manager; pick another name.")
    return cashier


def login(session: Session, cashier_id: str, pin: str) -> CashierInfo:
    """Check a cashier's PIN.

    Raises:
        UnknownCashier: no active cashier has that id.
        WrongPin: the PIN does not match.
    """
    cashier = _active(session, cashier_id)
    if not pin_matches(pin, cashier.pin_hash):
        raise WrongPin("That PIN is wrong; try again.")
    return CashierInfo(cashier.id, cashier.name)
