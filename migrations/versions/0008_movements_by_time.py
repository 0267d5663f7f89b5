"""The movements' index by SKU gives way to one by ``occurred_at``.

Every sale line inserted an entry into ``ix_stock_movements_sku`` at a random place, and so
wrote a random page of it to the log at commit: 45 of the 143 WAL pages of a group of 12 bench
sales, and a fifth of what a movement costs to insert (docs/benchmarks.md). Outside tests the
one reader of movements by SKU is a count, which asks for those that happened after it
(``occurred_at > counted_at``); an index on ``(occurred_at, location, sku)`` answers exactly
that, grows at its end as the store sells, and holds what the count filters on, so a count keyed
in days late reads index pages, not the movements themselves. On a large ledger, building the
new index takes a while, once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_stock_movements_occurred_at"), "stock_movements", ["occurred_at", "location", "sku"])
    op.drop_index(op.f("ix_stock_movements_sku"), table_name="stock_movements")


def downgrade() -> None:
    op.create_index(op.f("ix_stock_movements_sku"), "stock_movements", ["sku"])
    op.drop_index(op.f("ix_stock_movements_occurred_at"), table_name="stock_movements")
