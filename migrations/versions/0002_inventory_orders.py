"""Inventory and orders: safety stock settings, movement actor and time, counts, requests,
transfers, orders of every channel, reservations and inventory exceptions.

Existing movements get ``occurred_at`` = their ``created_at`` and an actor (the cashier for
sales, ``system`` otherwise); existing sales get their request record and an in-store order,
so a resent sale is still recognised and every sale is an order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:17:55.993558
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_requests")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "channel IN ('in_store', 'ship_from_store', 'pickup')", name=op.f("ck_orders_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('placed', 'reserved', 'picking', 'ready', 'picked_up', 'shipped', 'cancelled', 'completed')",
            name=op.f("ck_orders_status_known"),
        ),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_orders_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_status"), "orders", ["status"], unique=False)
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("from_location", sa.String(length=64), nullable=False),
        sa.Column("to_location", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("status IN ('in_transit', 'received')", name=op.f("ck_transfers_status_known")),
        sa.ForeignKeyConstraint(
            ["from_location"], ["locations.code"], name=op.f("fk_transfers_from_location_locations")
        ),
        sa.ForeignKeyConstraint(["to_location"], ["locations.code"], name=op.f("fk_transfers_to_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_table(
        "inventory_exceptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("resolved_at", sa.String(length=40), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_inventory_exceptions_status_known")),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_inventory_exceptions_location_locations")
        ),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_inventory_exceptions_sku_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_exceptions")),
    )
    op.create_index(op.f("ix_inventory_exceptions_status"), "inventory_exceptions", ["status"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_order_lines_sku_products")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_order_lines")),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("closed_at", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'committed', 'released', 'expired')", name=op.f("ck_reservations_status_known")
        ),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_reservations_location_locations")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_reservations_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index(op.f("ix_reservations_expires_at"), "reservations", ["expires_at"], unique=False)
    op.create_index(op.f("ix_reservations_order_id"), "reservations", ["order_id"], unique=False)
    op.create_table(
        "stock_counts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("counted_at", sa.String(length=40), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.String(length=40), nullable=False),
        sa.CheckConstraint("status IN ('applied', 'superseded')", name=op.f("ck_stock_counts_status_known")),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_stock_counts_counted_not_negative")),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_stock_counts_location_locations")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_stock_counts_sku_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_counts")),
    )
    op.create_index(op.f("ix_stock_counts_counted_at"), "stock_counts", ["counted_at"], unique=False)
    op.create_index(op.f("ix_stock_counts_sku"), "stock_counts", ["sku"], unique=False)
    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("received <= sent", name=op.f("ck_transfer_lines_received_within_sent")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_transfer_lines_sku_products")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_transfer_lines_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("transfer_id", "sku", name=op.f("pk_transfer_lines")),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_reservation_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["reservation_id"], ["reservations.id"], name=op.f("fk_reservation_lines_reservation_id_reservations")
        ),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_reservation_lines_sku_products")),
        sa.PrimaryKeyConstraint("reservation_id", "sku", name=op.f("pk_reservation_lines")),
    )
    op.create_index(op.f("ix_reservation_lines_sku"), "reservation_lines", ["sku"], unique=False)

    with op.batch_alter_table("categories") as batch_op:
        batch_op.add_column(sa.Column("safety_stock", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(sa.Column("safety_stock", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("store") as batch_op:
        batch_op.add_column(sa.Column("safety_stock", sa.BigInteger(), server_default="0", nullable=False))

    # Movements: add the columns empty, fill them for the rows already there, then require them.
    with op.batch_alter_table("stock_movements") as batch_op:
        batch_op.add_column(sa.Column("occurred_at", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("actor", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("absorbed_by_count", sa.String(length=36), nullable=True))
    op.execute("UPDATE stock_movements SET occurred_at = created_at, actor = 'system'")
    op.execute(
        "UPDATE stock_movements SET actor = "
        "(SELECT 'cashier:' || sales.cashier_id FROM sales WHERE sales.id = stock_movements.document_id) "
        "WHERE document_type = 'sale' AND EXISTS (SELECT 1 FROM sales WHERE sales.id = stock_movements.document_id)"
    )
    with op.batch_alter_table("stock_movements") as batch_op:
        batch_op.alter_column("occurred_at", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("actor", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_stock_movements_absorbed_by_count_stock_counts"), "stock_counts", ["absorbed_by_count"], ["id"]
        )

    # Sales already accepted: their request records (so a resend is still a duplicate) and orders.
    op.execute(
        "INSERT INTO requests (key, kind, actor, payload_hash, result, created_at) "
        "SELECT id, 'sale.submit', 'cashier:' || cashier_id, payload_hash, "
        "'{\"sale_id\":\"' || id || '\",\"seq\":' || CAST(accepted_seq AS VARCHAR(20)) || '}', created_at FROM sales"
    )
    op.execute(
        "INSERT INTO orders (id, channel, status, location, source, hold_s, created_at, updated_at) "
        "SELECT id, 'in_store', 'completed', 'main', register, 0, created_at, created_at FROM sales"
    )


def downgrade() -> None:
    with op.batch_alter_table("stock_movements") as batch_op:
        batch_op.drop_constraint(op.f("fk_stock_movements_absorbed_by_count_stock_counts"), type_="foreignkey")
        batch_op.drop_column("absorbed_by_count")
        batch_op.drop_column("actor")
        batch_op.drop_column("occurred_at")
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would copy tables that others refer to.
    for table in ("store", "products", "categories"):
        op.drop_column(table, "safety_stock")
    op.drop_index(op.f("ix_reservation_lines_sku"), table_name="reservation_lines")
    op.drop_table("reservation_lines")
    op.drop_table("transfer_lines")
    op.drop_index(op.f("ix_stock_counts_sku"), table_name="stock_counts")
    op.drop_index(op.f("ix_stock_counts_counted_at"), table_name="stock_counts")
    op.drop_table("stock_counts")
    op.drop_index(op.f("ix_reservations_order_id"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_expires_at"), table_name="reservations")
    op.drop_table("reservations")
    op.drop_table("order_lines")
    op.drop_index(op.f("ix_inventory_exceptions_status"), table_name="inventory_exceptions")
    op.drop_table("inventory_exceptions")
    op.drop_table("transfers")
    op.drop_index(op.f("ix_orders_status"), table_name="orders")
    op.drop_table("orders")
    op.drop_table("requests")
