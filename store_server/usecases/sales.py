"""Accepting a sale from a register: exactly once, with its stock movements and feed events."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_core import json_text
from pos_core.errors import InvalidTimestamp
from pos_core.ids import new_id
from pos_core.inventory import Reason, iso, utc_timestamp
from pos_core.orders import Channel, OrderStatus
from pos_core.sale import Sale
from store_server.db.models import (
    FeedState,
    InventoryException,
    OrderRow,
    RequestRecord,
    SaleLineRow,
    SaleRow,
    SaleTaxRow,
    SaleTenderRow,
    Store,
)
from store_server.db.writer import runs_together
from store_server.errors import RequestRefused, SaleRefused, UnknownSku
from store_server.usecases.batch import WriteBatch
from store_server.usecases.clock import now_iso, utc_now
from store_server.usecases.feed import lock_feed
from store_server.usecases.posting import Posting
from store_server.usecases.requests import Request, first_result, record_of, run_once, stored_requests
from store_server.usecases.rows import cached, fetch_all
from store_server.usecases.stock import (
    DEFAULT_LOCATION,
    CountRow,
    LevelLike,
    counts_since,
    earliest_counts,
    levels_for,
    units_sold_by,
)

log = logging.getLogger(__name__)

SALE_SUBMIT = "sale.submit"
MAX_CLOCK_AHEAD = timedelta(minutes=5)
"""How far in the server's future a sale's ``created_at`` may lie (clock skew between machines)."""
COUNT_ABSORB_WINDOW = timedelta(days=7)
"""How old a sale may be and still be absorbed by a count made after it (the count rule). An
older one is taken at server time and an inventory exception opened: a register clock years
behind must not erase sales from the books."""
STALE_SALE_AFTER_COUNT = "stale_sale_after_count"
CLOCK_AHEAD = "The register's clock is ahead of the store server's; set it right and send again."
_UNIT = {"each": "by the piece", "weight": "by weight"}
_TAX_RATES = "SELECT code, rate_ppm FROM tax_classes"


@dataclass(frozen=True, slots=True)
class SaleAccepted:
    sale_id: str
    seq: int
    """The seq of the sale's ``sale.completed`` event."""
    duplicate: bool = False
    exceptions: tuple[str, ...] = ()
    """Inventory exceptions the sale raised (reserved stock it left uncovered)."""

    def to_wire(self) -> dict[str, Any]:
        return {"sale_id": self.sale_id, "seq": self.seq, "exceptions": list(self.exceptions)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(data["sale_id"], data["seq"], exceptions=tuple(data.get("exceptions", ())))


def canonical_sale(sale: Sale) -> str:
    """The sale's wire form as canonical JSON (sorted keys, no spaces): what its fingerprint is
    made of, and the payload of its ``sale.completed`` event."""
    return json_text.canonical(sale.to_wire())


def hash_of(canonical: str) -> str:
    """The fingerprint of a sale's canonical JSON (``canonical_sale``)."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def payload_hash(sale: Sale) -> str:
    """A stable fingerprint of a sale's content, to tell a resend from a conflict."""
    return hash_of(canonical_sale(sale))


def submit_sales(session: Session, calls: Sequence[tuple[Any, ...]]) -> list[SaleAccepted | RequestRefused]:
    """``submit_sale`` for many sales at once, in the caller's write transaction: each sale's
    result, or the refusal that left it unwritten.

    Each call is the arguments ``submit_sale`` takes after the session. What the sales are
    checked against (the store's currency and tax rates, their products and levels, counts
    since the earliest) is read with one query each, what they write goes out as one write
    batch, and their request records with it. A sale reads the levels as the sales before it
    left them, and a resend of a sale earlier in the same call is answered as a duplicate. A
    sale is checked in full before it adds anything to the batch, so a refused sale writes
    nothing and the others go on. Anything else raised (a database error) leaves the batch
    half written: the caller rolls back what this call wrote.
    """
    state = lock_feed(session)
    sales = [_arguments(*call) for call in calls]
    requests = [_request(sale, sale_hash) for sale, sale_hash, _, _ in sales]
    stored = stored_requests(session, [request.key for request in requests])
    fresh = [sale for (sale, *_), request in zip(sales, requests, strict=True) if request.key not in stored]
    facts = _Facts.read(session, fresh)
    batch = WriteBatch(session, state)
    results: list[SaleAccepted | RequestRefused] = []
    at = utc_now()
    for (sale, sale_hash, now, canonical), request in zip(sales, requests, strict=True):
        try:
            first = first_result(request, stored.get(request.key))
            if first is not None:
                results.append(dataclasses.replace(SaleAccepted.from_wire(first), duplicate=True))
                continue
            occurred_at = _check(sale, now=now or at, facts=facts)
        except RequestRefused as refused:
            results.append(refused)
            continue
        accepted = _accept(batch, sale, sale_hash, occurred_at, now=now or at, canonical=canonical, facts=facts)
        record = record_of(request, accepted.to_wire())
        batch.insert(RequestRecord, record)
        stored[request.key] = (request.kind, request.payload_hash, record["result"])
        results.append(accepted)
    batch.flush()
    return results


def _arguments(
    sale: Sale, sale_hash: str, now: datetime | None = None, canonical: str | None = None
) -> tuple[Sale, str, datetime | None, str | None]:
    """``submit_sale``'s arguments after the session, as a caller passed them, defaults filled in."""
    return sale, sale_hash, now, canonical


def _request(sale: Sale, sale_hash: str) -> Request:
    return Request(sale.id, SALE_SUBMIT, f"cashier:{sale.cashier_id}", sale_hash)


@runs_together(submit_sales)
def submit_sale(
    session: Session, sale: Sale, sale_hash: str, now: datetime | None = None, canonical: str | None = None
) -> SaleAccepted:
    """Record ``sale`` in the caller's write transaction, exactly once.

    Writes the sale with its tenders (a card's reference, auth code, brand and last 4 digits),
    its in-store order, one movement per line from on hand to the customer (never refused,
    stock may go negative; grams for a weighed line), and the feed events ``sale.completed`` then
    ``stock.changed`` per movement, numbered gap-free. A line sold before a physical count
    of its SKU but synced after it is recorded with a count correction, not subtracted
    twice. If the sale leaves reserved stock uncovered, an inventory exception is recorded
    and ``reservation.at_risk`` emitted.

    The group writer runs the sales of one group commit together (``submit_sales``).

    Raises:
        IdempotencyConflict: a sale with this id was accepted with different content.
        UnknownSku: a line names a SKU the store does not have; nothing is written.
        SaleRefused: ``created_at`` lies more than ``MAX_CLOCK_AHEAD`` in the server's future;
            the sale is in another currency or pricing mode (prices with or without
            tax) than the store's, a line names a tax class the store does not have or
            another rate than the store's for it, or a line sells a product by weight that
            the store sells by the piece (or the reverse). A unit price other than the
            catalogue's is accepted: an offline lane may still carry an old price.

    Args:
        canonical: ``canonical_sale(sale)``, if the caller already made it for the fingerprint
            (the register endpoint does, off the database thread); else it is made here.
    """

    def accept(state: FeedState) -> SaleAccepted:
        facts = _Facts.read(session, [sale])
        at = now or utc_now()
        occurred_at = _check(sale, now=at, facts=facts)
        batch = WriteBatch(session, state)
        accepted = _accept(batch, sale, sale_hash, occurred_at, now=at, canonical=canonical, facts=facts)
        batch.flush()
        return accepted

    return run_once(session, _request(sale, sale_hash), SaleAccepted, accept, checked=True)


@dataclass(slots=True)
class _Facts:
    """What sales are checked and posted against, read once for all of them."""

    currency: str
    prices_include_tax: bool
    tax_rates: dict[str, int]
    sold_by: dict[str, str]
    """``each`` or ``weight``, for each of the sales' SKUs the store has."""
    levels: dict[tuple[str, str], LevelLike]
    """The levels of the sales' SKUs at the store's location, shared by their postings."""
    counts: list[CountRow]
    """Applied counts made after the earliest sale, newest first."""

    @classmethod
    def read(cls, session: Session, sales: Sequence[Sale]) -> _Facts:
        skus = {line.sku for sale in sales for line in sale.lines}
        made = [at for at in map(_occurred_at, sales) if at is not None]
        return cls(
            cached(session, "store.currency", lambda: session.scalars(select(Store.currency)).one()),
            cached(
                session, "store.prices_include_tax", lambda: session.scalars(select(Store.prices_include_tax)).one()
            ),
            dict(fetch_all(session, _TAX_RATES, {})),
            units_sold_by(session, skus),
            {(sku, DEFAULT_LOCATION): level for sku, level in levels_for(session, skus, DEFAULT_LOCATION).items()},
            counts_since(session, min(made)) if made else [],
        )


def _occurred_at(sale: Sale) -> str | None:
    try:
        return utc_timestamp(sale.created_at, "sale time")
    except InvalidTimestamp:
        return None


def _check(sale: Sale, *, now: datetime, facts: _Facts) -> str:
    """The time ``sale`` was made (UTC, ``pos_core.inventory.iso``), if the store takes it: a
    time ahead of ``now`` (a till's fast clock, within ``MAX_CLOCK_AHEAD``) is taken as now,
    as a count's is, so a count made meanwhile does not see the sale as made after it.

    Raises:
        SaleRefused, UnknownSku: as ``submit_sale`` says.
    """
    try:
        occurred_at = utc_timestamp(sale.created_at, "sale time")
    except InvalidTimestamp as exc:
        raise SaleRefused(str(exc)) from None
    made = datetime.fromisoformat(occurred_at)
    if made > now + MAX_CLOCK_AHEAD:
        raise SaleRefused(CLOCK_AHEAD)
    if made > now:
        occurred_at = iso(now)
    if sale.currency != facts.currency:
        raise SaleRefused(f"sale.currency is {sale.currency} but this store sells in {facts.currency}.")
    _check_taxes(facts, sale)
    skus = {line.sku for line in sale.lines}
    missing = sorted(skus - set(facts.sold_by))
    if missing:
        raise UnknownSku(f"The store has no product with SKU {', '.join(missing)}; update the register's catalogue.")
    for i, line in enumerate(sale.lines):
        if line.sold_by != facts.sold_by[line.sku]:  # grams counted as pieces (or the reverse) would corrupt stock
            said, kept = _UNIT[line.sold_by], _UNIT[facts.sold_by[line.sku]]
            raise SaleRefused(
                f"sale.lines[{i}] sells {line.sku} {said}, but the store sells it {kept}; "
                "update the register's catalogue."
            )
    return occurred_at


def _accept(
    batch: WriteBatch,
    sale: Sale,
    sale_hash: str,
    occurred_at: str,
    *,
    now: datetime,
    canonical: str | None,
    facts: _Facts,
) -> SaleAccepted:
    """Add what a sale that passed ``_check`` writes to ``batch``; it refuses nothing."""
    made = datetime.fromisoformat(occurred_at)
    skus = {line.sku for line in sale.lines}
    completed = batch.encoded_event("sale.completed", canonical_sale(sale) if canonical is None else canonical)
    # Core inserts, parents first: these rows are never read back in this transaction.
    sale_row = {
        "id": sale.id,
        "register": sale.register,
        "cashier_id": sale.cashier_id,
        "created_at": sale.created_at,
        "currency": sale.currency,
        "prices_include_tax": sale.prices_include_tax,
        "subtotal": sale.subtotal,
        "tax_total": sale.tax_total,
        "total": sale.total,
        "change": sale.change,
        "payload_hash": sale_hash,
        "accepted_seq": completed,
    }
    order_row = {
        "id": sale.id,
        "channel": Channel.IN_STORE,
        "status": OrderStatus.COMPLETED,
        "location": DEFAULT_LOCATION,
        "source": sale.register,
        "reference": None,
        "customer_name": None,
        "hold_s": 0,
        "created_at": sale.created_at,
        "updated_at": batch.now,
    }
    batch.insert(SaleRow, sale_row)
    batch.insert(OrderRow, order_row)
    taxes = [
        {"sale_id": sale.id, "code": t.code, "rate_ppm": t.rate_ppm, "taxable": t.taxable, "tax": t.tax}
        for t in sale.taxes
    ]
    batch.insert(SaleTaxRow, *taxes)
    tenders = [
        {
            "sale_id": sale.id,
            "tender_no": no,
            "kind": tender.kind,
            "amount": tender.amount,
            "reference": tender.reference,
            "auth_code": tender.auth_code,
            "card_brand": tender.card_brand,
            "last4": tender.last4,
        }
        for no, tender in enumerate(sale.tenders, 1)
    ]
    batch.insert(SaleTenderRow, *tenders)
    lines = [
        {
            "sale_id": sale.id,
            "line_no": no,
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.amount,
            "tax_class": line.tax_class,
            "tax_rate_ppm": line.tax_rate_ppm,
            "sold_by": line.sold_by,
        }
        for no, line in enumerate(sale.lines, 1)
    ]
    batch.insert(SaleLineRow, *lines)
    stale: list[str] = []
    if made < now - COUNT_ABSORB_WINDOW:
        counted = earliest_counts(facts.counts, occurred_at)
        stale = sorted(sku for sku in skus if (sku, DEFAULT_LOCATION) in counted)
        if stale:
            occurred_at = iso(now)  # too old to be absorbed: a normal sale, now
    posting = Posting(
        batch.session,
        batch.state,
        document_type="sale",
        document_id=sale.id,
        key=f"sale:{sale.id}",
        actor=f"cashier:{sale.cashier_id}",
        occurred_at=occurred_at,
        batch=batch,
        levels=facts.levels,
        counts=earliest_counts(facts.counts, occurred_at),
    )
    for line in sale.lines:
        posting.move(line.sku, line.quantity, Reason.SALE)  # grams for a weighed line, as its stock is kept
    exceptions = posting.close(flush=False)
    if stale:
        levels = {level.sku: level for level in posting.levels if level.location == DEFAULT_LOCATION}
        exceptions += [_flag_stale(batch.session, sale, levels[sku]) for sku in stale]
    return SaleAccepted(sale.id, completed, exceptions=tuple(exceptions))


def _flag_stale(session: Session, sale: Sale, level: LevelLike) -> str:
    """Open an exception for a sale too old for the count rule, taken at server time instead."""
    row = InventoryException(
        id=new_id(),
        kind=STALE_SALE_AFTER_COUNT,
        sku=level.sku,
        location=level.location,
        on_hand=level.on_hand,
        reserved=level.reserved,
        shortfall=0,
        document_type="sale",
        document_id=sale.id,
        details=json.dumps({"created_at": sale.created_at, "register": sale.register}),
        status="open",
        actor=f"cashier:{sale.cashier_id}",
        created_at=now_iso(),
    )
    session.add(row)
    log.warning(
        "sale older than a count of its SKU and than the count window, taken at server time "
        "sku=%s sale=%s created_at=%s register=%s exception=%s",
        level.sku,
        sale.id,
        sale.created_at,
        sale.register,
        row.id,
    )
    return row.id


def _check_taxes(facts: _Facts, sale: Sale) -> None:
    """Refuse a sale taxed otherwise than the store taxes: its tax would be wrong in the books."""
    if sale.prices_include_tax != facts.prices_include_tax:
        said, kept = ("include", "exclude") if sale.prices_include_tax else ("exclude", "include")
        raise SaleRefused(
            f"sale.prices_include_tax says the prices {said} tax, but this store's prices {kept} it; "
            "update the register's settings."
        )
    for i, line in enumerate(sale.lines):
        rate = facts.tax_rates.get(line.tax_class)
        if rate is None:
            raise SaleRefused(
                f"sale.lines[{i}].tax_class {line.tax_class[:64]!r} ({line.sku}) is not one of this store's "
                "tax classes; update the register's catalogue."
            )
        if line.tax_rate_ppm != rate:
            raise SaleRefused(
                f"sale.lines[{i}].tax_rate_ppm is {line.tax_rate_ppm} for {line.sku}, but this store taxes "
                f"{line.tax_class} at {rate}; update the register's catalogue."
            )
