"""Device and storefront tokens. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import Credential
from store_server.errors import UnknownCredentialKind
from store_server.usecases.clock import now_iso

CredentialKind = Literal["register", "storefront"]
KINDS: frozenset[str] = frozenset({"register", "storefront"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, kind: str, name: str) -> str:
    """Make a new token of ``kind`` named ``name``; returns it (shown once, never stored).

    Raises:
        UnknownCredentialKind: ``kind`` is not ``register`` or ``storefront``.
    """
    if kind not in KINDS:
        raise UnknownCredentialKind(f"A token kind must be 'register' or 'storefront', not {kind!r}.")
    token = secrets.token_urlsafe(32)
    session.add(
        Credential(id=str(uuid.uuid4()), kind=kind, name=name, token_hash=token_hash(token), created_at=now_iso())
    )
    return token


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
