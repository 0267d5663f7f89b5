"""Cashiers and PIN login. PINs are kept only as salted scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import Cashier
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


def add_cashier(session: Session, name: str, pin: str, *, role: str = CASHIER) -> CashierInfo:
    """Add an active cashier (``role`` ``manager`` for one who authorises overrides).

    Raises:
        RequestRefused: the name is empty, the PIN is not 4 to 12 digits, or the role is unknown.
    """
    if not name.strip():
        raise RequestRefused("A cashier needs a name.")
    if not pin.isdigit() or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise RequestRefused(f"A PIN must be {MIN_PIN} to {MAX_PIN} digits.")
    if role not in ROLES:
        raise RequestRefused(f"A cashier's role must be {' or '.join(ROLES)}, not {role!r}.")
    cashier = Cashier(id=str(uuid.uuid4()), name=name.strip(), pin_hash=hash_pin(pin), active=True, role=role)
    session.add(cashier)
    return CashierInfo(cashier.id, cashier.name, cashier.role)


def list_cashiers(session: Session) -> list[CashierInfo]:
    """Active cashiers by name."""
    rows = session.scalars(select(Cashier).where(Cashier.active.is_(True)).order_by(Cashier.name, Cashier.id))
    return [CashierInfo(c.id, c.name) for c in rows]


def pin_hash_of(session: Session, cashier_id: str) -> tuple[CashierInfo, str]:
    """An active cashier and their stored PIN hash, to check a PIN off the database threads.

    Raises:
        UnknownCashier: no active cashier has that id.
    """
    cashier = session.get(Cashier, cashier_id)
    if cashier is None or not cashier.active:
        raise UnknownCashier("There is no active cashier with that id; pick a name from the list.")
    return CashierInfo(cashier.id, cashier.name, cashier.role), cashier.pin_hash


def login(session: Session, cashier_id: str, pin: str) -> CashierInfo:
    """Check a cashier's PIN.

    Raises:
        UnknownCashier: no active cashier has that id.
        WrongPin: the PIN does not match.
    """
    cashier = session.get(Cashier, cashier_id)
    if cashier is None or not cashier.active:
        raise UnknownCashier("There is no active cashier with that id; pick a name from the list.")
    if not pin_matches(pin, cashier.pin_hash):
        raise WrongPin("That PIN is wrong; try again.")
    return CashierInfo(cashier.id, cashier.name)
