"""Who may open which endpoint: the token's kind, and for a storefront its scopes.

``/register`` takes register tokens. ``/feed`` and ``/storefront`` take storefront tokens, each
only with a scope it serves: a token that could do nothing there is refused at the upgrade
(``403``) instead of being let in to be refused frame by frame. A ``/storefront`` token lacking
one command's scope is refused that command only (``forbidden_scope``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from pos_core.protocol import (
    FEED_PATH,
    REGISTER_PATH,
    SCOPE_FEED_READ,
    SCOPE_ORDERS_READ,
    SCOPE_ORDERS_WRITE,
    SCOPE_STOCK_READ,
    SCOPE_STOCK_RESERVE,
    STOREFRONT_PATH,
)

KIND_FOR_PATH: Mapping[str, str] = {REGISTER_PATH: "register", FEED_PATH: "storefront", STOREFRONT_PATH: "storefront"}
SCOPES_FOR_PATH: Mapping[str, frozenset[str]] = {
    FEED_PATH: frozenset({SCOPE_FEED_READ}),
    STOREFRONT_PATH: frozenset({SCOPE_STOCK_READ, SCOPE_STOCK_RESERVE, SCOPE_ORDERS_READ, SCOPE_ORDERS_WRITE}),
}
"""A storefront token opens a path if it carries at least one of these."""
MAX_ACTOR_LEN = 200


@dataclass(frozen=True, slots=True)
class Access:
    """The live credential a connection authenticated with."""

    credential_id: str
    kind: str
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """Who the ledger names for this connection's changes, e.g. ``storefront:web shop``."""
        return f"{self.kind}:{self.name}"[:MAX_ACTOR_LEN]


def refusal(path: str, access: Access) -> tuple[HTTPStatus, str] | None:
    """Why ``access`` may not open ``path`` (a status and one sentence), or None when it may.

    ``path`` must be one of ``KIND_FOR_PATH``.
    """
    needed = KIND_FOR_PATH[path]
    if access.kind != needed:
        return HTTPStatus.FORBIDDEN, f"A {access.kind} token cannot open {path}; use a {needed} token."
    serves = SCOPES_FOR_PATH.get(path)
    if serves is not None and not access.scopes & serves:
        return (
            HTTPStatus.FORBIDDEN,
            f"This storefront token has no scope that {path} serves ({', '.join(sorted(serves))});"
            " make one that has with `pos store token --kind storefront --scope SCOPE`.",
        )
    return None


def peer_of(address: object) -> str:
    """A connection's remote address as a person writes it: ``127.0.0.1:43902``, ``[::1]:43902``."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)
