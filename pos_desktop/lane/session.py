"""``LaneSession``: the selling logic of one lane, shared by the register and the simulator.

Synchronous and free of I/O: the caller fetches the catalogue and submits the sale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pos_core.basket import Basket, BasketLine, TaxRules, Totals
from pos_core.catalogue import Catalogue, Product, normalise_scan
from pos_core.errors import PosError
from pos_core.ids import new_id
from pos_core.receipt import ReceiptLayout, ReceiptRow, StoreHeader, layout_receipt
from pos_core.sale import Sale
from pos_core.tender import Tender
from pos_desktop.lane.errors import UNSURE_CODES, LaneError, UnknownBarcode
from pos_desktop.lane.wire import Cashier, StoreInfo, Welcome

IN_DOUBT = "The store server may not have recorded this sale; send it again to be sure."
"""Said while a sale's outcome is unknown; the basket is locked until the same sale is confirmed."""


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


def new_sale_id() -> str:
    """A sale's id, made by the register (DESIGN.md §3): the server's idempotency key for it."""
    return new_id()


class LaneSession:
    """Store, catalogue, the customer's basket and who is logged in.

    Args:
        welcome: the store and tax classes the server greeted us with.
        catalogue: the products to sell.
        register: this lane's name, printed on receipts and sent with sales.
        clock: the time of a sale as an ISO 8601 UTC string (replaceable in tests).
    """

    def __init__(
        self,
        welcome: Welcome,
        catalogue: Catalogue,
        register: str,
        *,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        self.store: StoreInfo = welcome.store
        self.catalogue = catalogue
        self.register = register
        self.rules = TaxRules(welcome.store.currency, dict(welcome.tax_classes), welcome.store.prices_include_tax)
        self.basket = Basket(self.rules)
        self.cashier: Cashier | None = None
        self.pending: Sale | None = None
        """The sale sent to the store server and not accepted yet (being sent, or waiting to be sent again)."""
        self.sending = False
        """``pending`` is on its way to the store server right now."""
        self._resent = False
        self._clock = clock

    @property
    def currency(self) -> str:
        return self.store.currency

    def log_in(self, cashier: Cashier) -> None:
        self.cashier = cashier

    def log_out(self) -> None:
        self.cashier = None

    def find(self, code: str) -> Product:
        """The product with this barcode (or SKU).

        Raises:
            UnknownBarcode: nothing in the catalogue has that code.
            LaneError: the code is empty.
        """
        cleaned = normalise_scan(code)
        if not cleaned:
            raise LaneError("Scan a barcode or type one and press Enter.")
        product = self.catalogue.lookup(cleaned)
        if product is None:
            raise UnknownBarcode(cleaned)
        return product

    def scan(self, code: str) -> BasketLine:
        """Add one of the product with this barcode (or SKU).

        Raises:
            UnknownBarcode: nothing in the catalogue has that code; the basket is unchanged.
            LaneError: the line cannot take another unit, or the product is sold by weight.
        """
        return self.add(self.find(code))

    def add(self, product: Product, quantity: int | None = None) -> BasketLine:
        """Add ``product``: one piece, or ``quantity`` grams weighed on the scale for a weighed product.

        Raises:
            LaneError: the line cannot take more, a weighed product came without its weight, or a
                sent sale is pending (its basket cannot change).
        """
        self._unlocked()
        try:
            return self.basket.add(product, quantity)
        except PosError as exc:
            raise LaneError(str(exc)) from None

    def weighed_products(self) -> list[Product]:
        """The products sold by weight, by name: the register's quick keys for loose goods.

        Loose goods come first; goods weighed in a container (a tare) after them: they carry a
        barcode on the container and are mostly scanned, so they take a quick key only if one
        is left."""
        return sorted((p for p in self.catalogue.products() if p.weighed), key=lambda p: (p.tare_grams > 0, p.name))

    def set_quantity(self, index: int, quantity: int) -> None:
        """Change line ``index`` (0-based) to ``quantity``; zero voids it.

        Raises:
            LaneError: no such line, a quantity out of range, or a sent sale is pending.
        """
        self._unlocked()
        try:
            self.basket.set_quantity(index, quantity)
        except PosError as exc:
            raise LaneError(str(exc)) from None

    def void_line(self, index: int) -> BasketLine:
        self._unlocked()
        try:
            return self.basket.remove(index)
        except PosError as exc:
            raise LaneError(str(exc)) from None

    def totals(self) -> Totals:
        return self.basket.totals()

    def pay_cash(self, tendered: int) -> Sale:
        """Close the basket paid with ``tendered`` cash; the basket is kept until ``start_next_customer``.

        Raises:
            LaneError: nobody is logged in, the basket is empty, or the cash is short.
        """
        return self.pay(cash=tendered)

    def pay(self, *, cash: int = 0, card: Tender | None = None, sale_id: str | None = None) -> Sale:
        """Close the basket paid in cash, by an approved card payment, or both.

        Args:
            sale_id: the id the card payment was made for (its ``sale_ref``); a new one otherwise.

        Raises:
            LaneError: nobody is logged in, the basket is empty, the cash is short, or the card
                pays more than the total.
        """
        if self.cashier is None:
            raise LaneError("Log in before taking payment.")
        try:
            return Sale.from_basket(
                self.basket,
                sale_id=sale_id or new_sale_id(),
                register=self.register,
                cashier_id=self.cashier.id,
                created_at=self._clock(),
                cash_tendered=cash,
                card=card,
            )
        except PosError as exc:
            raise LaneError(str(exc)) from None

    def start_next_customer(self) -> None:
        """Empty the basket after the server accepted the sale."""
        self.basket.clear()

    def sale_sent(self, sale: Sale) -> None:
        """``sale`` (made from this basket, or the pending sale once more) is on its way to the store server."""
        self._resent = self.pending is not None and self.pending.id == sale.id
        self.pending, self.sending = sale, True

    @property
    def in_doubt(self) -> bool:
        """A sale was sent and its outcome is unknown: the basket is locked until it is sent again."""
        return self.pending is not None and not self.sending

    def sale_accepted(self, sale: Sale) -> bool:
        """The store server has ``sale``: when it is the one sent, empty the basket for the next customer.

        Done here, not on the screen, so the basket is emptied even when no sale screen is showing.

        Returns:
            True when ``sale`` was the pending sale (the basket was emptied); False for any other.
        """
        if self.pending is None or self.pending.id != sale.id:
            return False
        self.pending, self.sending = None, False
        self.start_next_customer()
        return True

    def sale_unanswered(self, sale: Sale) -> None:
        """No answer about ``sale``: the server may have it. It stays pending and the basket locked."""
        if self.pending is not None and self.pending.id == sale.id:
            self.sending = False

    def sale_refused(self, sale: Sale, code: str) -> bool:
        """The server answered ``code`` to ``sale``.

        Returns:
            True when that proves the sale is not recorded: the basket is unlocked. False when an
            earlier attempt may still have been recorded (a login refusal of a resend, a server
            fault): the sale stays pending, in doubt.
        """
        if self.pending is None or self.pending.id != sale.id:
            return True
        self.sending = False
        if code == "internal" or (code in UNSURE_CODES and self._resent):
            return False
        self.pending = None
        return True

    def _unlocked(self) -> None:
        if self.pending is not None:
            raise LaneError(IN_DOUBT)

    def receipt_rows(self, sale: Sale, layout: ReceiptLayout = ReceiptLayout()) -> list[ReceiptRow]:  # noqa: B008 -- frozen
        """The sale's receipt, laid out for the lane's printer (by default 80 mm, 42 columns, a QR code)."""
        header = StoreHeader(self.store.name, self.store.address_lines)
        cashier = self.cashier.name if self.cashier is not None else sale.cashier_id
        local = datetime.now().astimezone().tzinfo  # the register's clock is set to the shop's zone
        return layout_receipt(sale, header, cashier, layout.width, local or UTC, sale_code=layout.sale_code)
