"""Safety stock: per SKU, else per category, else the store's default.

The level rows carry the resolved figure (the reservation grant checks it in SQL), so every
change of a setting re-resolves the levels it affects and emits ``stock.changed`` for each
level whose figures changed, with ``movement`` null.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_server.db.models import Category, FeedState, ProductRow, StockLevel, Store
from store_server.errors import BadRequest, UnknownCategory, UnknownSku
from store_server.usecases import checks
from store_server.usecases.feed import append_event
from store_server.usecases.requests import command_request, run_once
from store_server.usecases.stock import effective_safety_stock, level_wire, stock_changed


@dataclass(frozen=True, slots=True)
class SetSafetyStock:
    """Set a safety stock: a product's (``sku``), a category's (``category``), or the store's
    default (neither). ``quantity`` None clears a product's or category's own setting."""

    request_id: str
    actor: str
    quantity: int | None
    sku: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class SafetyStockSet:
    levels: tuple[dict[str, Any], ...]
    """The levels whose safety stock changed, with their new figures."""
    duplicate: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"levels": list(self.levels)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls(tuple(data["levels"]))


def set_safety_stock(session: Session, cmd: SetSafetyStock) -> SafetyStockSet:
    """Change a safety stock setting and re-resolve the levels it affects.

    Raises:
        BadRequest: both a SKU and a category, or no quantity for the store's default.
        QuantityRefused: a negative or absurd quantity.
        UnknownSku, UnknownCategory: nothing is written.
        IdempotencyConflict: the request id was used for other content.
    """
    checks.document_id(cmd.request_id, "request id")
    if cmd.sku is not None and cmd.category is not None:
        raise BadRequest("Set the safety stock of a product or of a category, not both at once.")
    if cmd.quantity is not None:
        checks.quantity(cmd.quantity, "safety stock", allow_zero=True)
    elif cmd.sku is None and cmd.category is None:
        raise BadRequest("The store's default safety stock needs a quantity (0 for none).")

    def run(state: FeedState) -> SafetyStockSet:
        if cmd.sku is not None:
            product = session.get(ProductRow, cmd.sku)
            if product is None:
                raise UnknownSku(f"The store has no product with SKU {cmd.sku}; check the SKU.")
            product.safety_stock = cmd.quantity
            skus: list[str] | None = [cmd.sku]
        elif cmd.category is not None:
            category = session.get(Category, cmd.category)
            if category is None:
                raise UnknownCategory(f"The store has no category {cmd.category!r}; check its name.")
            category.safety_stock = cmd.quantity
            skus = list(session.scalars(select(ProductRow.sku).where(ProductRow.category == cmd.category)))
        else:
            session.scalars(select(Store)).one().safety_stock = cmd.quantity or 0
            skus = None
        session.flush()
        return SafetyStockSet(tuple(level_wire(lv) for lv in refresh_safety(session, state, skus)))

    return run_once(session, command_request("stock.safety", cmd), SafetyStockSet, run)


def refresh_safety(session: Session, state: FeedState, skus: Iterable[str] | None) -> list[StockLevel]:
    """Re-resolve the safety stock of the levels of ``skus`` (None: every SKU).

    Returns:
        The levels that changed; each got a ``stock.changed`` event with ``movement`` null.
    """
    query = select(StockLevel).order_by(StockLevel.sku, StockLevel.location)
    if skus is not None:
        query = query.where(StockLevel.sku.in_(list(skus)))
    changed = []
    resolved: dict[str, int] = {}
    for level in list(session.scalars(query)):
        if level.sku not in resolved:
            resolved[level.sku] = effective_safety_stock(session, level.sku)
        if level.safety_stock != resolved[level.sku]:
            level.safety_stock = resolved[level.sku]
            append_event(session, state, "stock.changed", stock_changed(None, level))
            changed.append(level)
    return changed
