"""Lane configuration kept on the store server: one ``lane.json`` document per register name,
with its version and who changed it when. Registers fetch it over ``/register`` (``lane.config``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lane_configs",
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_lane_configs_version_positive")),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_lane_configs")),
    )


def downgrade() -> None:
    op.drop_table("lane_configs")
