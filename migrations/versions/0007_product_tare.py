"""Preset tare: ``tare_grams`` on products, a weighed product's container (a deli tub of 12 g)
that the scale takes off so the sale line carries the net weight.

Every existing product has none (0). The column is added in place with its check written into it
(no table copy on SQLite: ``products`` is referred to by many tables): whole grams from 0 to
2,000 (``pos_core.weight.MAX_TARE_GRAMS``), and 0 unless the product is sold by weight.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 06:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARE_CHECK = "tare_grams >= 0 AND tare_grams <= 2000 AND (tare_grams = 0 OR sold_by = 'weight')"
"""As the model's on the day of this migration; a later limit is a later migration."""


def upgrade() -> None:
    check = sa.CheckConstraint(TARE_CHECK, name=op.f("ck_products_tare_grams_valid"))
    op.add_column("products", sa.Column("tare_grams", sa.Integer(), check, server_default="0", nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), as 0003: its check goes with it.
    op.drop_column("products", "tare_grams")
