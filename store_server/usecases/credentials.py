"""Device and storefront tokens. Only a token's SHA-256 is stored.

A storefront token carries scopes (``pos_core.protocol.STOREFRONT_SCOPES``): what it may do
on ``/feed`` and ``/storefront``. A register token carries none; its kind says it all.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.protocol import STOREFRONT_SCOPES
from store_server.db.models import Credential
from store_server.errors import UnknownCredentialKind, UnknownScope
from store_server.usecases.clock import now_iso

CredentialKind = Literal["register", "storefront"]
KINDS: frozenset[str] = frozenset({"register", "storefront"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, kind: str, name: str, scopes: Iterable[str] | None = None) -> str:
    """Make a new token of ``kind`` named ``name``; returns it (shown once, never stored).

    Args:
        scopes: what a storefront token may do; None gives it every storefront scope.

    Raises:
        UnknownCredentialKind: ``kind`` is not ``register`` or ``storefront``.
        UnknownScope: a scope is not a storefront scope, none is given, or a register token was given some.
    """
    if kind not in KINDS:
        raise UnknownCredentialKind(f"A token kind must be 'register' or 'storefront', not {kind!r}.")
    granted = _scopes(kind, scopes)
    token = secrets.token_urlsafe(32)
    session.add(
        Credential(
            id=str(uuid.uuid4()),
            kind=kind,
            name=name,
            token_hash=token_hash(token),
            scopes=" ".join(granted),
            created_at=now_iso(),
        )
    )
    return token


def _scopes(kind: str, scopes: Iterable[str] | None) -> tuple[str, ...]:
    if kind != "storefront":
        if scopes:
            raise UnknownScope("A register token carries no scopes; give scopes only to a storefront token.")
        return ()
    if scopes is None:
        return STOREFRONT_SCOPES
    wanted = set(scopes)
    unknown = sorted(wanted - set(STOREFRONT_SCOPES))
    if unknown:
        raise UnknownScope(
            f"There is no storefront scope {', '.join(unknown)}; choose from {', '.join(STOREFRONT_SCOPES)}."
        )
    if not wanted:
        raise UnknownScope(f"A storefront token needs at least one scope of {', '.join(STOREFRONT_SCOPES)}.")
    return tuple(s for s in STOREFRONT_SCOPES if s in wanted)


def credential_scopes(credential: Credential) -> frozenset[str]:
    """The scopes a credential carries (none for a register)."""
    return frozenset(credential.scopes.split())


def verify_token(session: Session, token: str) -> Credential | None:
    """The live credential ``token`` belongs to, or None (unknown or revoked)."""
    if not token:
        return None
    found = session.scalars(select(Credential).where(Credential.token_hash == token_hash(token))).first()
    if found is None or found.revoked_at is not None:
        return None
    return found


def revoke_token(session: Session, credential_id: str) -> bool:
    """Revoke a credential by id; False when there is no such live credential."""
    found = session.get(Credential, credential_id)
    if found is None or found.revoked_at is not None:
        return False
    found.revoked_at = now_iso()
    return True
