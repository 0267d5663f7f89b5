"""Weighed goods and card tenders: ``sold_by`` on products and sale lines; the card details a
receipt shows (payment reference, auth code, card brand, last 4 digits) on sale tenders.

Every existing product and sale line is sold ``each``; existing tenders are cash and keep the
card columns empty. Columns are added in place (no table copy on SQLite: ``products`` is
referred to by many tables), with the ``sold_by`` check written into the column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:12:41.118203
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARD_COLUMNS = (("reference", 64), ("auth_code", 8), ("card_brand", 24), ("last4", 4))


def _sold_by(table: str) -> sa.Column[str]:
    check = sa.CheckConstraint("sold_by IN ('each', 'weight')", name=op.f(f"ck_{table}_sold_by_known"))
    return sa.Column("sold_by", sa.String(length=10), check, server_default="each", nullable=False)


def upgrade() -> None:
    for table in ("products", "sale_lines"):
        op.add_column(table, _sold_by(table))
    for name, length in CARD_COLUMNS:
        op.add_column("sale_tenders", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would copy tables that others refer to.
    for name, _length in reversed(CARD_COLUMNS):
        op.drop_column("sale_tenders", name)
    for table in ("sale_lines", "products"):
        op.drop_column(table, "sold_by")
