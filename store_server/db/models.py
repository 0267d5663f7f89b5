"""The store's tables. Money and quantities are integers; ids are client-made UUID strings."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pos_core.weight import MAX_TARE_GRAMS

# Named constraints so Alembic produces the same names on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Uuid = Annotated[str, mapped_column(String(36))]
Name = Annotated[str, mapped_column(String(200))]
Code = Annotated[str, mapped_column(String(64))]
Minor = Annotated[int, mapped_column(BigInteger)]
"""An amount in minor units, or a quantity; BigInteger so totals never overflow."""
Timestamp = Annotated[str, mapped_column(String(40))]
"""ISO 8601 with a time zone, as on the wire; text sorts correctly within one zone (UTC)."""
SOLD_BY_CHECK = "sold_by IN ('each', 'weight')"
TARE_CHECK = f"tare_grams >= 0 AND tare_grams <= {MAX_TARE_GRAMS} AND (tare_grams = 0 OR sold_by = 'weight')"
"""A preset tare is whole grams up to ``pos_core.weight.MAX_TARE_GRAMS``, on a weighed product only."""


def sold_by_column() -> Mapped[str]:
    """``each`` (quantities are pieces) or ``weight`` (quantities are grams, prices per kg)."""
    return mapped_column(
        String(10), CheckConstraint(SOLD_BY_CHECK, name="sold_by_known"), default="each", server_default="each"
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Store(Base):
    __tablename__ = "store"
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    name: Mapped[Name]
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool]
    address_lines: Mapped[str] = mapped_column(Text)
    """JSON list of strings."""
    created_at: Mapped[Timestamp]
    safety_stock: Mapped[Minor] = mapped_column(default=0, server_default="0")
    """The safety stock of a SKU whose product and category set none."""


class TaxClassRow(Base):
    __tablename__ = "tax_classes"
    code: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[Name]
    rate_ppm: Mapped[int]


class Category(Base):
    __tablename__ = "categories"
    name: Mapped[Name] = mapped_column(primary_key=True)
    safety_stock: Mapped[int | None] = mapped_column(BigInteger)
    """Safety stock for the category's products that set none; None: the store's default."""


class ProductRow(Base):
    __tablename__ = "products"
    sku: Mapped[Code] = mapped_column(primary_key=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[Name]
    category: Mapped[str | None] = mapped_column(String(200), ForeignKey("categories.name"))
    price: Mapped[Minor]
    tax_class: Mapped[Code] = mapped_column(ForeignKey("tax_classes.code"))
    active: Mapped[bool] = mapped_column(default=True)
    safety_stock: Mapped[int | None] = mapped_column(BigInteger)
    """This SKU's own safety stock; None: its category's, else the store's."""
    sold_by: Mapped[str] = sold_by_column()
    """``weight``: ``price`` is per kilogram and every quantity of this SKU (stock, sales) is grams."""
    tare_grams: Mapped[int] = mapped_column(
        CheckConstraint(TARE_CHECK, name="tare_grams_valid"), default=0, server_default="0"
    )
    """A weighed product's container (a deli tub), taken off by the scale; 0 for none."""


class Location(Base):
    __tablename__ = "locations"
    code: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[Name]


class StockLevel(Base):
    __tablename__ = "stock_levels"
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    on_hand: Mapped[Minor] = mapped_column(default=0)
    reserved: Mapped[Minor] = mapped_column(default=0)
    safety_stock: Mapped[Minor] = mapped_column(default=0)
    """The SKU's effective safety stock, kept equal to what its settings resolve to."""

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock


class StockMovement(Base):
    """One immutable ledger entry: ``quantity`` moved from one bucket to another.

    ``occurred_at`` is when it happened (a sale's time at the till), ``created_at`` when the
    store recorded it. ``absorbed_by_count`` marks a movement that happened before a count but
    was recorded after it; an equal and opposite count correction goes with it.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # For a count, which reads what happened after it (``usecases.counts``): it grows at its
        # end as the store sells, and holds what the count filters on, so a count keyed in late
        # reads index pages only. No index by SKU: each sale line would write a random page of
        # it (migration 0008).
        Index("ix_stock_movements_occurred_at", "occurred_at", "location", "sku"),
    )
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"))
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    quantity: Mapped[Minor]
    from_bucket: Mapped[Code]
    to_bucket: Mapped[Code]
    reason: Mapped[Code]
    document_type: Mapped[Code]
    document_id: Mapped[Name]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[Timestamp]
    occurred_at: Mapped[Timestamp]
    actor: Mapped[Name]
    """Who or what made it: ``cashier:<id>``, ``storefront:<name>``, ``manager:<name>``, ``system:expiry``."""
    absorbed_by_count: Mapped[str | None] = mapped_column(String(36), ForeignKey("stock_counts.id"))


class StockCount(Base):
    """One SKU's line of a physical count: absolute, at the time it was counted."""

    __tablename__ = "stock_counts"
    __table_args__ = (
        CheckConstraint("counted >= 0", name="counted_not_negative"),
        CheckConstraint("status IN ('applied', 'superseded')", name="status_known"),
    )
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    document_id: Mapped[Name]
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"), index=True)
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    counted_at: Mapped[str] = mapped_column(String(40), index=True)
    """When it was counted; a late-synced sale looks up the counts made after it."""
    counted: Mapped[Minor]
    expected: Mapped[Minor]
    """What the books said was on hand at ``counted_at``."""
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[Name]
    recorded_at: Mapped[Timestamp]


class RequestRecord(Base):
    """A state-changing request, kept so a repeat returns its first result (idempotency)."""

    __tablename__ = "requests"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The client-made request id (a sale's id, an order's id, a command's id)."""
    kind: Mapped[Code]
    actor: Mapped[Name]
    payload_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    """The first result, as JSON."""
    created_at: Mapped[Timestamp]


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint("status IN ('in_transit', 'received')", name="status_known"),)
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    from_location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    to_location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[Name]
    created_at: Mapped[Timestamp]


class TransferLine(Base):
    __tablename__ = "transfer_lines"
    __table_args__ = (CheckConstraint("received <= sent", name="received_within_sent"),)
    transfer_id: Mapped[Uuid] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    sent: Mapped[Minor]
    received: Mapped[Minor]


class OrderRow(Base):
    """An order of any channel; an in-store sale is one with the sale's id, born completed."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("channel IN ('in_store', 'ship_from_store', 'pickup')", name="channel_known"),
        CheckConstraint(
            "status IN ('placed', 'reserved', 'picking', 'ready', 'picked_up', 'shipped', 'cancelled', 'completed')",
            name="status_known",
        ),
    )
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    source: Mapped[Name]
    """The register or storefront that sent it."""
    reference: Mapped[str | None] = mapped_column(String(200))
    """The storefront's own order number, shown to staff."""
    customer_name: Mapped[str | None] = mapped_column(String(200))
    hold_s: Mapped[int]
    """How long, in seconds, its stock is held before it is picked."""
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class OrderLineRow(Base):
    """A line of an online order; an in-store order's lines are its sale's lines."""

    __tablename__ = "order_lines"
    order_id: Mapped[Uuid] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[Minor]
    reserved: Mapped[Minor]
    """How much of the line is held for it."""


class Reservation(Base):
    """A two-phase hold on stock: pending, then committed, released or expired."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'committed', 'released', 'expired')", name="status_known"),
    )
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("orders.id"), index=True)
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[str | None] = mapped_column(String(40), index=True)
    """None once its order is being picked: goods in a picker's hands do not expire."""
    actor: Mapped[Name]
    created_at: Mapped[Timestamp]
    closed_at: Mapped[str | None] = mapped_column(String(40))


class ReservationLine(Base):
    __tablename__ = "reservation_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
    reservation_id: Mapped[Uuid] = mapped_column(ForeignKey("reservations.id"), primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"), primary_key=True, index=True)
    quantity: Mapped[Minor]


class InventoryException(Base):
    """Something a manager must look at, e.g. reserved stock a sale left uncovered."""

    __tablename__ = "inventory_exceptions"
    __table_args__ = (CheckConstraint("status IN ('open', 'resolved')", name="status_known"),)
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"))
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    on_hand: Mapped[Minor]
    reserved: Mapped[Minor]
    shortfall: Mapped[Minor]
    document_type: Mapped[Code]
    document_id: Mapped[Name]
    details: Mapped[str] = mapped_column(Text)
    """JSON: the reservations and orders at risk."""
    status: Mapped[str] = mapped_column(String(20), index=True)
    actor: Mapped[Name]
    created_at: Mapped[Timestamp]
    resolved_at: Mapped[str | None] = mapped_column(String(40))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Cashier(Base):
    __tablename__ = "cashiers"
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    name: Mapped[Name]
    pin_hash: Mapped[str] = mapped_column(String(300))
    """``scrypt$n$r$p$salt_hex$hash_hex``; never the PIN."""
    active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[str] = mapped_column(
        String(20),
        CheckConstraint("role IN ('cashier', 'manager')", name="role_known"),
        default="cashier",
        server_default="cashier",
    )
    """``manager``: may authorise overrides (settling a card payment by hand, unlocking a cashier)."""


class OverrideRow(Base):
    """One override a manager authorised; append-only: rows are added, never changed or removed."""

    __tablename__ = "overrides"
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    action: Mapped[Code]
    """What was authorised: ``card.settle_paid``, ``card.settle_unpaid``, ``cashier.unlock``."""
    subject: Mapped[Name]
    """What it was about: the card payment's id, the unlocked cashier's id."""
    requested_by: Mapped[str | None] = mapped_column(String(36))
    """The cashier logged in on the register that asked; None when nobody was (``pos store unlock-cashier``)."""
    manager_id: Mapped[Uuid] = mapped_column(ForeignKey("cashiers.id"))
    register: Mapped[Name]
    """The register connection that asked (its address)."""
    created_at: Mapped[str] = mapped_column(String(40), index=True)


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (CheckConstraint("kind IN ('register', 'storefront')", name="kind_known"),)
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[Name]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200), default="", server_default="")
    """A storefront token's scopes, space-separated (``pos_core.protocol.STOREFRONT_SCOPES``); empty for a register."""
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[str | None] = mapped_column(String(40))


class LaneConfigRow(Base):
    """A lane's device settings (the shape of ``lane.json``), kept by the store for its register."""

    __tablename__ = "lane_configs"
    __table_args__ = (CheckConstraint("version > 0", name="version_positive"),)
    lane: Mapped[Name] = mapped_column(primary_key=True)
    """The register's name, as it sends it with its sales (``pos register --name``)."""
    document: Mapped[str] = mapped_column(Text)
    """The settings as canonical JSON (sorted keys), so equal settings compare equal."""
    version: Mapped[int]
    """1 for the first settings, one more at every change."""
    changed_by: Mapped[Name]
    changed_at: Mapped[Timestamp]


class SaleRow(Base):
    __tablename__ = "sales"
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    register: Mapped[Name]
    cashier_id: Mapped[Name]
    created_at: Mapped[Timestamp]
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool]
    subtotal: Mapped[Minor]
    tax_total: Mapped[Minor]
    total: Mapped[Minor]
    change: Mapped[Minor]
    payload_hash: Mapped[str] = mapped_column(String(64))
    accepted_seq: Mapped[int] = mapped_column(BigInteger)


class SaleLineRow(Base):
    __tablename__ = "sale_lines"
    sale_id: Mapped[Uuid] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"))
    name: Mapped[Name]
    quantity: Mapped[Minor]
    unit_price: Mapped[Minor]
    amount: Mapped[Minor]
    tax_class: Mapped[Code]
    tax_rate_ppm: Mapped[int]
    sold_by: Mapped[str] = sold_by_column()
    """``weight``: ``quantity`` is grams and ``unit_price`` per kilogram."""


class SaleTaxRow(Base):
    __tablename__ = "sale_taxes"
    sale_id: Mapped[Uuid] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    code: Mapped[Code] = mapped_column(primary_key=True)
    rate_ppm: Mapped[int]
    taxable: Mapped[Minor]
    tax: Mapped[Minor]


class SaleTenderRow(Base):
    """A tender; for a card only what a receipt may show (never more card data)."""

    __tablename__ = "sale_tenders"
    sale_id: Mapped[Uuid] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    tender_no: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    amount: Mapped[Minor]
    reference: Mapped[str | None] = mapped_column(String(64))
    """Card: the terminal payment's id (the register's payment intent)."""
    auth_code: Mapped[str | None] = mapped_column(String(8))
    card_brand: Mapped[str | None] = mapped_column(String(24))
    last4: Mapped[str | None] = mapped_column(String(4))


class FeedState(Base):
    """The single counter row that numbers feed events gap-free in commit order."""

    __tablename__ = "feed_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[Uuid]
    last_seq: Mapped[int] = mapped_column(BigInteger)


class FeedEventRow(Base):
    __tablename__ = "feed_events"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[Code]
    occurred_at: Mapped[Timestamp]
    payload: Mapped[str] = mapped_column(Text)


POS_TABLES = frozenset(Base.metadata.tables)
"""The names that mark a database as ours."""
