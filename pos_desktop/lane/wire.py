"""Register-side decoding of the store server's replies (docs/protocol.md); no I/O.

Each function turns one decoded message into a value object, or raises ``LaneError``
with a sentence when the server sent something this register does not understand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pos_core.catalogue import Product
from pos_core.errors import PosError
from pos_core.protocol import PROTOCOL_VERSION
from pos_core.tax import TaxClass
from pos_desktop.lane.errors import LaneError


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """The store as the welcome message describes it."""

    id: str
    name: str
    currency: str
    prices_include_tax: bool
    address_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Welcome:
    store: StoreInfo
    tax_classes: dict[str, TaxClass]


@dataclass(frozen=True, slots=True)
class Cashier:
    id: str
    name: str
    role: str | None = None
    """``cashier`` or ``manager`` as ``cashiers.list`` says; None where a reply does not say (a login)."""

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The server's word that a sale is stored; ``duplicate`` when it already had it."""

    sale_id: str
    seq: int
    duplicate: bool


def _bad(what: str) -> LaneError:
    return LaneError(f"The store server sent a {what} this register does not understand; update the register.")


def _str(d: dict[str, Any], key: str, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise _bad(what)
    return value


def _int(d: dict[str, Any], key: str, what: str) -> int:
    value = d.get(key)
    if type(value) is not int:
        raise _bad(what)
    return value


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(what)
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(what)
    return value


def parse_welcome(message: dict[str, Any]) -> Welcome:
    """Decode the first message of a ``/register`` connection.

    Raises:
        LaneError: not a welcome, another protocol version, or malformed.
    """
    if message.get("type") != "welcome":
        raise _bad("greeting")
    if message.get("protocol") != PROTOCOL_VERSION:
        raise LaneError(
            f"The store server speaks protocol {message.get('protocol')}, this register speaks {PROTOCOL_VERSION};"
            " update whichever is older."
        )
    store = _obj(message.get("store"), "welcome")
    include = store.get("prices_include_tax")
    if not isinstance(include, bool):
        raise _bad("welcome")
    info = StoreInfo(
        id=_str(store, "id", "welcome"),
        name=_str(store, "name", "welcome"),
        currency=_str(store, "currency", "welcome"),
        prices_include_tax=include,
        address_lines=tuple(str(line) for line in _list(store.get("address_lines", []), "welcome")),
    )
    classes: dict[str, TaxClass] = {}
    try:
        for raw in _list(message.get("tax_classes"), "welcome"):
            tc = _obj(raw, "welcome")
            code = _str(tc, "code", "welcome")
            classes[code] = TaxClass(code, _str(tc, "name", "welcome"), _int(tc, "rate_ppm", "welcome"))
    except PosError as exc:
        raise LaneError(str(exc)) from None
    return Welcome(info, classes)


def parse_products(message: dict[str, Any]) -> tuple[list[Product], str | None]:
    """Decode a ``catalogue.page`` reply into its products and the ``after`` for the next page."""
    products: list[Product] = []
    try:
        for raw in _list(message.get("products"), "catalogue page"):
            products.append(Product.from_wire(raw))  # a server before weighed goods sends no sold_by or tare
    except PosError as exc:
        raise LaneError(str(exc)) from None
    after = message.get("next")
    if after is not None and not isinstance(after, str):
        raise _bad("catalogue page")
    return products, after or None


@dataclass(frozen=True, slots=True)
class CatalogueChanges:
    """A ``catalogue.changes`` reply: products changed since the register read them."""

    products: list[Product]
    removed: list[str]
    next: int
    epoch: str
    reload: bool
    """The server cannot tell what changed: read the whole catalogue again."""


def parse_catalogue_changes(message: dict[str, Any]) -> CatalogueChanges:
    """Decode a ``catalogue.changes`` reply.

    Raises:
        LaneError: it is not one.
    """
    what = "catalogue change"
    try:
        products = [Product.from_wire(raw) for raw in _list(message.get("products"), what)]
    except PosError as exc:
        raise LaneError(str(exc)) from None
    removed = _list(message.get("removed"), what)
    reload = message.get("reload")
    if not all(isinstance(sku, str) for sku in removed) or not isinstance(reload, bool):
        raise _bad(what)
    return CatalogueChanges(products, removed, _int(message, "next", what), _str(message, "epoch", what), reload)


def parse_cashier(value: object) -> Cashier:
    c = _obj(value, "cashier")
    role = c.get("role")
    if role is not None and not isinstance(role, str):
        raise _bad("cashier")
    return Cashier(id=_str(c, "id", "cashier"), name=_str(c, "name", "cashier"), role=role)


def parse_cashiers(message: dict[str, Any]) -> list[Cashier]:
    return [parse_cashier(c) for c in _list(message.get("cashiers"), "cashier list")]


def parse_acceptance(message: dict[str, Any]) -> Acceptance:
    if message.get("type") != "sale.accepted":
        raise _bad("sale reply")
    duplicate = message.get("duplicate", False)
    return Acceptance(
        sale_id=_str(message, "sale_id", "sale reply"),
        seq=_int(message, "seq", "sale reply"),
        duplicate=duplicate is True,
    )
