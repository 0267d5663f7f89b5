"""``SalePresenter``: the selling screen's state (lines, taxes, total, messages, weighing); no widgets.

A product sold by weight is not added when scanned: the presenter hands it back to be weighed,
and adds it only when the scale gives a steady weight (``weighed``); until then the screen
says in one sentence why not.
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_core.basket import BasketLine
from pos_core.catalogue import Product
from pos_core.money import format_money, rate_text
from pos_core.sale import Sale
from pos_core.weight import format_net_weight, format_weight
from pos_desktop.lane.customer_display import Screen, idle_screen, item_screen, paid_screen
from pos_desktop.lane.errors import LaneError
from pos_desktop.lane.session import IN_DOUBT, LaneSession
from pos_desktop.lane.weighing import Verdict, Weighing


@dataclass(frozen=True, slots=True)
class LineRow:
    name: str
    quantity: str
    price: str
    amount: str


@dataclass(frozen=True, slots=True)
class CompletedDisplay:
    """Shown after a sale until the next scan."""

    change_text: str
    paid_text: str


@dataclass(frozen=True, slots=True)
class SaleDisplay:
    rows: tuple[LineRow, ...]
    weighing_text: str | None
    """While a product waits for a steady weight: what is being weighed."""
    selected: int | None
    item_count_text: str
    tax_lines: tuple[tuple[str, str], ...]
    total_text: str
    message: str
    message_is_error: bool
    can_pay: bool
    pay_text: str
    can_edit: bool
    completed: CompletedDisplay | None
    connection_text: str
    connection_ok: bool
    printer_text: str
    printer_ok: bool
    devices_text: str
    devices_ok: bool
    can_change_quantity: bool
    can_log_out: bool
    """False while a sale is being sent or waits to be sent again: that basket must not be left behind."""


class SalePresenter:
    """Turns the lane's basket into display state and the cashier's taps into basket changes."""

    def __init__(
        self,
        lane: LaneSession,
        *,
        printer_text: str = "Receipt printer: ready",
        printer_ok: bool = True,
        card_available: bool = False,
    ) -> None:
        self.lane = lane
        self.card_available = card_available
        self.weighing: Weighing | None = None
        self._devices = ("", True)
        self._selected: int | None = None
        self._message = ""
        self._error = False
        self._completed: CompletedDisplay | None = None
        self._completed_sale: Sale | None = None
        self._connection = (f"Store server: connected to {lane.store.name}", True)
        self._printer = (printer_text, printer_ok)
        if lane.in_doubt:  # a sale left in doubt before this cashier logged in
            self._say(IN_DOUBT, error=True)

    def display(self) -> SaleDisplay:
        cur = self.lane.currency
        rows = tuple(_row(line, cur) for line in self.lane.basket.lines)
        totals = self.lane.totals()
        include = self.lane.rules.prices_include_tax
        tax_lines: list[tuple[str, str]] = []
        if not include and rows:
            tax_lines.append(("Subtotal", format_money(totals.subtotal, cur)))
        for t in totals.taxes:
            label = f"{'incl. ' if include else ''}tax {rate_text(t.rate_ppm)} on {format_money(t.taxable, cur)}"
            tax_lines.append((label, format_money(t.tax, cur)))
        count = sum(line.items for line in self.lane.basket.lines)
        weighing = self.weighing
        target = self._target()
        return SaleDisplay(
            rows=rows,
            weighing_text=None if weighing is None else _weighing_text(weighing.product, cur),
            selected=self._selected,
            item_count_text=f"{count} item{'s' if count != 1 else ''}",
            tax_lines=tuple(tax_lines),
            total_text=format_money(totals.total, cur),
            message=self._message,
            message_is_error=self._error,
            can_pay=bool(rows) and not self._busy and weighing is None,
            pay_text="Send sale again"
            if self.unsent_sale() is not None
            else "Pay"
            if self.card_available
            else "Pay cash",
            can_edit=bool(rows) and not self._busy and not self.lane.in_doubt,
            completed=self._completed,
            connection_text=self._connection[0],
            connection_ok=self._connection[1],
            printer_text=self._printer[0],
            printer_ok=self._printer[1],
            devices_text=self._devices[0],
            devices_ok=self._devices[1],
            can_change_quantity=target is not None and not self.lane.basket.lines[target].product.weighed,
            can_log_out=not self._busy and self.unsent_sale() is None,
        )

    @property
    def busy(self) -> bool:
        return self.lane.sending

    @property
    def _busy(self) -> bool:
        return self.lane.sending

    def scan(self, code: str) -> Product | None:
        """Add the product with this barcode, or say why not; an unknown code changes nothing.

        Returns:
            A product sold by weight, which is added only once the scale has weighed it.
        """
        if self._busy:
            self._say("Wait until the store server has the last sale.", error=True)
            return None
        try:
            product = self.lane.find(code)
        except LaneError as exc:
            self._say(str(exc), error=True)
            return None
        return self.choose(product)

    def choose(self, product: Product) -> Product | None:
        """Ring up ``product`` (tapped on a key, or scanned); a weighed product is returned to be weighed."""
        if self._busy:
            self._say("Wait until the store server has the last sale.", error=True)
            return None
        if self._locked():
            return None
        self.weighing = None  # a new item ends any weighing that was waiting
        if product.weighed:
            return product
        try:
            line = self.lane.add(product)
        except LaneError as exc:
            self._say(str(exc), error=True)
            return None
        self._added(line, f"{line.product.name}  {format_money(line.product.price, self.lane.currency)}")
        return None

    def weighing_started(self, weighing: Weighing) -> None:
        self.weighing = weighing
        self._say(f"Put the {weighing.product.name} on the scale.", error=False)

    def weighed(self, weighing: Weighing, verdict: Verdict) -> BasketLine | None:
        """The scale answered; a steady weight adds the line (returned), anything else says why not."""
        if weighing != self.weighing:
            return None  # an answer for a weighing the cashier already left
        if verdict.grams is None:
            self._say(verdict.sentence, error=not verdict.waiting)
            return None
        self.weighing = None
        try:
            line = self.lane.add(weighing.product, verdict.grams)
        except LaneError as exc:
            self._say(str(exc), error=True)
            return None
        cur = self.lane.currency
        weight = format_net_weight(verdict.grams, weighing.product.tare_grams)
        self._added(line, f"{weighing.product.name}  {weight}  {format_money(line.amount, cur)}")
        return line

    def weighing_failed(self, weighing: Weighing, sentence: str) -> None:
        if weighing == self.weighing:
            self.weighing = None
            self._say(sentence, error=True)

    def cancel_weighing(self) -> None:
        if self.weighing is not None:
            self._say(f"{self.weighing.product.name} was not added.", error=False)
            self.weighing = None

    def customer_screen(self) -> Screen:
        """What the customer display shows for the state of the sale."""
        if self._completed_sale is not None:
            return paid_screen(self._completed_sale)
        target = self._target()
        if target is None:
            return idle_screen(self.lane.store.name)
        return item_screen(self.lane.basket.lines[target], self.lane.totals().total, self.lane.currency)

    def _added(self, line: BasketLine, said: str) -> None:
        self._completed = None
        self._completed_sale = None
        self._selected = next(i for i, ln in enumerate(self.lane.basket.lines) if ln.product.sku == line.product.sku)
        self._say(said, error=False)

    def select(self, index: int | None) -> None:
        self._selected = index

    def change_quantity(self, delta: int) -> None:
        """Add ``delta`` to the selected line (the last line when none is selected); zero voids it."""
        index = self._target()
        if index is None or self._locked():
            return
        line = self.lane.basket.lines[index]
        if line.product.weighed:
            self._say(f"{line.product.name} is sold by weight; void the line and weigh it again.", error=True)
            return
        try:
            self.lane.set_quantity(index, line.quantity + delta)
        except LaneError as exc:
            self._say(str(exc), error=True)
            return
        if line.quantity + delta == 0:
            self._after_removal(index, line.product.name)
        else:
            self._say("", error=False)

    def void_line(self) -> None:
        index = self._target()
        if index is None or self._locked():
            return
        line = self.lane.void_line(index)
        self._after_removal(index, line.product.name)

    def payment_started(self) -> bool:
        """True when there is something to pay for."""
        if self._busy or self.lane.basket.is_empty():
            self._say("Scan an item first." if not self._busy else "The last sale is still being sent.", error=True)
            return False
        return True

    def sale_sent(self, sale: Sale) -> None:
        self.lane.sale_sent(sale)
        self._say("Sending the sale to the store server…", error=False)

    def sale_committed(self, sale: Sale) -> None:
        """The store server has ``sale``; the lane empties the basket (``LaneSession.sale_accepted``)."""
        self.lane.sale_accepted(sale)
        self._selected = None
        cur = sale.currency
        self._completed = CompletedDisplay(
            change_text=format_money(sale.change, cur),
            paid_text=f"Paid {paid_text(sale)} for {format_money(sale.total, cur)}",
        )
        self._completed_sale = sale
        self._say("Sale complete. Scan the next customer's first item.", error=False)

    def sale_failed(self, sentence: str, sale: Sale) -> None:
        """No answer about ``sale``: it may be recorded. The basket stays locked until it is sent again."""
        self.lane.sale_unanswered(sale)
        self._say(f"{sentence} {IN_DOUBT}", error=True)

    def sale_refused(self, sentence: str, code: str, sale: Sale) -> None:
        """The server answered that it refused ``sale``."""
        if not self.lane.sale_refused(sale, code):
            self._say(f"{sentence} {IN_DOUBT}", error=True)
            return
        said = (
            f"The store server refused this sale: {sentence} "
            "It is not recorded; correct the basket and take payment again."
        )
        card = sum(t.amount for t in sale.tenders if t.kind == "card")
        if card:
            said += f" The card was charged {format_money(card, sale.currency)}; refund it on the terminal."
        self._say(said, error=True)

    def log_out_refused(self) -> None:
        if self._busy:
            self._say("Wait until the store server has the last sale before logging out.", error=True)
        else:
            self._say("Send the sale again before logging out; the basket must not be left unpaid.", error=True)

    def show_error(self, sentence: str) -> None:
        self._say(sentence, error=True)

    def show_message(self, sentence: str, *, error: bool) -> None:
        self._say(sentence, error=error)

    def unsent_sale(self) -> Sale | None:
        """The sale whose outcome is unknown, to send again as it is.

        Sending that same sale again (same id) is safe: the server records it once even if the
        first attempt did reach it. Its basket cannot change meanwhile.
        """
        return self.lane.pending if self.lane.in_doubt else None

    def connection_changed(self, text: str, ok: bool) -> None:
        self._connection = (text, ok)

    def printer_changed(self, text: str, ok: bool) -> None:
        self._printer = (text, ok)

    def devices_changed(self, text: str, ok: bool) -> None:
        self._devices = (text, ok)

    def _locked(self) -> bool:
        """True (and says so) while a sale whose outcome is unknown waits to be sent again."""
        if self.lane.in_doubt:
            self._say(IN_DOUBT, error=True)
            return True
        return False

    def _target(self) -> int | None:
        lines = self.lane.basket.lines
        if not lines or self._busy:
            return None
        if self._selected is None or not 0 <= self._selected < len(lines):
            return len(lines) - 1
        return self._selected

    def _after_removal(self, index: int, name: str) -> None:
        remaining = len(self.lane.basket.lines)
        self._selected = min(index, remaining - 1) if remaining else None
        self._say(f"Removed {name}.", error=False)

    def _say(self, message: str, *, error: bool) -> None:
        self._message, self._error = message, error


def _weighing_text(product: Product, currency: str) -> str:
    """``Weighing Bananas loose at €1.69/kg``; a product with a preset tare says what is taken off."""
    text = f"Weighing {product.name} at {format_money(product.price, currency)}/kg"
    return f"{text}, less its {format_weight(product.tare_grams)} container" if product.tare_grams else text


def _row(line: BasketLine, currency: str) -> LineRow:
    product = line.product
    if product.weighed:
        return LineRow(
            product.name,
            format_weight(line.quantity),
            f"{format_money(product.price, currency)}/kg",
            format_money(line.amount, currency),
        )
    return LineRow(
        product.name, str(line.quantity), format_money(product.price, currency), format_money(line.amount, currency)
    )


def paid_text(sale: Sale) -> str:
    """``€20.00 cash``, ``€6.38 by card (VISA ending 4727)``, ``€4.38 by card and €2.00 cash``."""
    parts = []
    for tender in sale.tenders:
        money = format_money(tender.amount, sale.currency)
        if tender.is_cash:
            parts.append(f"{money} cash")
        elif tender.last4 is not None:
            parts.append(f"{money} by card ({tender.card_brand} ending {tender.last4})")
        else:
            parts.append(f"{money} by card")
    return " and ".join(parts) or "nothing"
