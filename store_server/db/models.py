"""The store's tables. Money and quantities are integers; ids are client-made UUID strings."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class TaxClassRow(Base):
    __tablename__ = "tax_classes"
    code: Mapped[Code] = mapped_column(primary_key=True)
    name: Mapped[Name]
    rate_ppm: Mapped[int]


class Category(Base):
    __tablename__ = "categories"
    name: Mapped[Name] = mapped_column(primary_key=True)


class ProductRow(Base):
    __tablename__ = "products"
    sku: Mapped[Code] = mapped_column(primary_key=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[Name]
    category: Mapped[str | None] = mapped_column(String(200), ForeignKey("categories.name"))
    price: Mapped[Minor]
    tax_class: Mapped[Code] = mapped_column(ForeignKey("tax_classes.code"))
    active: Mapped[bool] = mapped_column(default=True)


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

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock


class StockMovement(Base):
    """One immutable ledger entry: ``quantity`` moved from one bucket to another."""

    __tablename__ = "stock_movements"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    sku: Mapped[Code] = mapped_column(ForeignKey("products.sku"), index=True)
    location: Mapped[Code] = mapped_column(ForeignKey("locations.code"))
    quantity: Mapped[Minor]
    from_bucket: Mapped[Code]
    to_bucket: Mapped[Code]
    reason: Mapped[Code]
    document_type: Mapped[Code]
    document_id: Mapped[Name]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[Timestamp]


class Cashier(Base):
    __tablename__ = "cashiers"
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    name: Mapped[Name]
    pin_hash: Mapped[str] = mapped_column(String(300))
    """``scrypt$n$r$p$salt_hex$hash_hex``; never the PIN."""
    active: Mapped[bool] = mapped_column(default=True)


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (CheckConstraint("kind IN ('register', 'storefront')", name="kind_known"),)
    id: Mapped[Uuid] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[Name]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[str | None] = mapped_column(String(40))


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


class SaleTaxRow(Base):
    __tablename__ = "sale_taxes"
    sale_id: Mapped[Uuid] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    code: Mapped[Code] = mapped_column(primary_key=True)
    rate_ppm: Mapped[int]
    taxable: Mapped[Minor]
    tax: Mapped[Minor]


class SaleTenderRow(Base):
    __tablename__ = "sale_tenders"
    sale_id: Mapped[Uuid] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    tender_no: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    amount: Mapped[Minor]


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
