"""Manager authorisation: a role on cashiers (``cashier`` or ``manager``) and the append-only log
of the overrides managers authorised.

Every existing cashier stays a ``cashier``; a store that needs overrides makes someone a manager.
The role is added in place, with its check written into the column (no table copy on SQLite).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 06:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    check = sa.CheckConstraint("role IN ('cashier', 'manager')", name=op.f("ck_cashiers_role_known"))
    op.add_column("cashiers", sa.Column("role", sa.String(length=20), check, server_default="cashier", nullable=False))
    op.create_table(
        "overrides",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=True),
        sa.Column("manager_id", sa.String(length=36), nullable=False),
        sa.Column("register", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["manager_id"], ["cashiers.id"], name=op.f("fk_overrides_manager_id_cashiers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
    )
    op.create_index(op.f("ix_overrides_created_at"), "overrides", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_overrides_created_at"), table_name="overrides")
    op.drop_table("overrides")
    # Plain DROP COLUMN (SQLite 3.35+), as 0003: its check goes with it.
    op.drop_column("cashiers", "role")
