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
from store_server.errors import StoreError, UnknownCredential, UnknownCredentialKind, UnknownScope
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
        StoreError: ``name`` is empty, too long or not on one line.
        UnknownScope: a scope is not a storefront scope, none is given, or a register token was given some.
    """
    if kind not in KINDS:
        raise UnknownCredentialKind(f"A token kind must be 'register' or 'storefront', not {kind!r}.")
    name = name.strip()
    if not 0 < len(name) <= 200 or not name.isprintable():
        raise StoreError("A token's name must be 1 to 200 characters on one line, e.g. 'Till 1' or 'web shop'.")
    granted = _scopes(kind, scopes)
    # A prefix says what the secret is (and lets secret scanners spot one) and keeps a token
    # from starting with "-", which `--token -abc` would read as an option.
    token = f"pos_{kind}_{secrets.token_urlsafe(32)}"
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


def list_credentials(session: Session) -> list[Credential]:
    """Every credential, live and revoked, oldest first."""
    return list(session.scalars(select(Credential).order_by(Credential.created_at, Credential.id)))


def revoke_named(session: Session, *, name: str | None = None, credential_id: str | None = None) -> Credential:
    """Revoke the one live credential with this name, or this id; returns it.

    Raises:
        UnknownCredential: none is live under that name or id, or several share the name.
    """
    if credential_id is not None:
        found = session.get(Credential, credential_id)
        if found is None or found.revoked_at is not None:
            raise UnknownCredential(f"There is no live credential with id {credential_id}; see `pos store tokens`.")
    else:
        live = [c for c in session.scalars(select(Credential).where(Credential.name == name)) if c.revoked_at is None]
        if not live:
            raise UnknownCredential(f"There is no live credential named {name!r}; see `pos store tokens`.")
        if len(live) > 1:
            raise UnknownCredential(
                f"{len(live)} live credentials are named {name!r}; revoke one by --id (see `pos store tokens`)."
            )
        found = live[0]
    revoke_token(session, found.id)
    return found


def revoked_among(session: Session, credential_ids: Iterable[str]) -> set[str]:
    """Those of ``credential_ids`` that are revoked or no longer exist."""
    wanted = set(credential_ids)
    if not wanted:
        return set()
    live = session.scalars(
        select(Credential.id).where(Credential.id.in_(wanted), Credential.revoked_at.is_(None))
    ).all()
    return wanted - set(live)
