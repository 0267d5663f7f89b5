"""Accepting a sale from a register: exactly once, with its stock movements and feed events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core.sale import Sale
from store_server.db.models import ProductRow, SaleLineRow, SaleRow, SaleTaxRow, SaleTenderRow, Store
from store_server.errors import IdempotencyConflict, SaleRefused, UnknownSku
from store_server.usecases.feed import append_event, lock_feed
from store_server.usecases.stock import CUSTOMER, ON_HAND, Move, record_movement, stock_changed


@dataclass(frozen=True, slots=True)
class SaleAccepted:
    sale_id: str
    seq: int
    """The seq of the sale's ``sale.completed`` event."""
    duplicate: bool


def payload_hash(sale: Sale) -> str:
    """A stable fingerprint of a sale's content, to tell a resend from a conflict."""
    canonical = json.dumps(sale.to_wire(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_sale(session: Session, sale: Sale, sale_hash: str) -> SaleAccepted:
    """Record ``sale`` in the caller's write transaction.

    Writes the sale, one movement per line from on hand to the customer (never refused,
    stock may go negative), and the feed events ``sale.completed`` then ``stock.changed``
    per line, numbered gap-free.

    Raises:
        IdempotencyConflict: a sale with this id was accepted with different content.
        UnknownSku: a line names a SKU the store does not have; nothing is written.
        SaleRefused: the sale is in another currency than the store's.
    """
    state = lock_feed(session)
    existing = session.get(SaleRow, sale.id)
    if existing is not None:
        if existing.payload_hash != sale_hash:
            raise IdempotencyConflict(
                f"Sale {sale.id} was already accepted with different content; make a new sale id for a new sale."
            )
        return SaleAccepted(existing.id, existing.accepted_seq, duplicate=True)
    currency = session.scalars(select(Store.currency)).one()
    if sale.currency != currency:
        raise SaleRefused(f"sale.currency is {sale.currency} but this store sells in {currency}.")
    skus = {line.sku for line in sale.lines}
    known = set(session.scalars(select(ProductRow.sku).where(ProductRow.sku.in_(skus))))
    missing = sorted(skus - known)
    if missing:
        raise UnknownSku(f"The store has no product with SKU {', '.join(missing)}; update the register's catalogue.")

    completed = append_event(session, state, "sale.completed", sale.to_wire())
    session.add(
        SaleRow(
            id=sale.id,
            register=sale.register,
            cashier_id=sale.cashier_id,
            created_at=sale.created_at,
            currency=sale.currency,
            prices_include_tax=sale.prices_include_tax,
            subtotal=sale.subtotal,
            tax_total=sale.tax_total,
            total=sale.total,
            change=sale.change,
            payload_hash=sale_hash,
            accepted_seq=completed.seq,
        )
    )
    session.flush()  # the sale row before the rows that refer to it
    for t in sale.taxes:
        session.add(SaleTaxRow(sale_id=sale.id, code=t.code, rate_ppm=t.rate_ppm, taxable=t.taxable, tax=t.tax))
    for no, tender in enumerate(sale.tenders, 1):
        session.add(SaleTenderRow(sale_id=sale.id, tender_no=no, kind=tender.kind, amount=tender.amount))
    for no, line in enumerate(sale.lines, 1):
        session.add(
            SaleLineRow(
                sale_id=sale.id,
                line_no=no,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                tax_class=line.tax_class,
                tax_rate_ppm=line.tax_rate_ppm,
            )
        )
        movement, level = record_movement(
            session, Move(line.sku, line.quantity, ON_HAND, CUSTOMER, "sale", "sale", sale.id, f"sale:{sale.id}:{no}")
        )
        append_event(session, state, "stock.changed", stock_changed(movement, level))
    return SaleAccepted(sale.id, completed.seq, duplicate=False)
