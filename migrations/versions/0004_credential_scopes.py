"""Scopes on credentials: what a storefront token may do on ``/feed`` and ``/storefront``.

Storefront tokens issued before scopes existed could do everything a storefront could, so
they get every storefront scope; register tokens carry none (their kind says what they open).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:02:17.504113
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVERY_STOREFRONT_SCOPE = "feed:read stock:read stock:reserve orders:read orders:write"
"""Written out rather than imported: a migration must keep meaning what it meant when written."""


def upgrade() -> None:
    # In place, no table copy on SQLite; the empty default fills existing rows.
    op.add_column("credentials", sa.Column("scopes", sa.String(length=200), server_default="", nullable=False))
    credentials = sa.table("credentials", sa.column("kind", sa.String), sa.column("scopes", sa.String))
    op.execute(credentials.update().where(credentials.c.kind == "storefront").values(scopes=EVERY_STOREFRONT_SCOPE))


def downgrade() -> None:
    op.drop_column("credentials", "scopes")
