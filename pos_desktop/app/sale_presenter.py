"""``SalePresenter``: the selling screen's state (lines, taxes, total, messages); no widgets."""

from __future__ import annotations

from dataclasses import dataclass

from pos_core.money import format_money, rate_text
from pos_core.sale import Sale
from pos_desktop.lane.errors import LaneError
from pos_desktop.lane.session import LaneSession


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


class SalePresenter:
    """Turns the lane's basket into display state and the cashier's taps into basket changes."""

    def __init__(
        self, lane: LaneSession, *, printer_text: str = "Receipt printer: ready", printer_ok: bool = True
    ) -> None:
        self.lane = lane
        self._selected: int | None = None
        self._message = ""
        self._error = False
        self._busy = False
        self._completed: CompletedDisplay | None = None
        self._unsent: Sale | None = None
        self._connection = (f"Store server: connected to {lane.store.name}", True)
        self._printer = (printer_text, printer_ok)

    def display(self) -> SaleDisplay:
        cur = self.lane.currency
        rows = tuple(
            LineRow(
                line.product.name,
                str(line.quantity),
                format_money(line.product.price, cur),
                format_money(line.amount, cur),
            )
            for line in self.lane.basket.lines
        )
        totals = self.lane.totals()
        include = self.lane.rules.prices_include_tax
        tax_lines: list[tuple[str, str]] = []
        if not include and rows:
            tax_lines.append(("Subtotal", format_money(totals.subtotal, cur)))
        for t in totals.taxes:
            label = f"{'incl. ' if include else ''}tax {rate_text(t.rate_ppm)} on {format_money(t.taxable, cur)}"
            tax_lines.append((label, format_money(t.tax, cur)))
        count = sum(line.quantity for line in self.lane.basket.lines)
        return SaleDisplay(
            rows=rows,
            selected=self._selected,
            item_count_text=f"{count} item{'s' if count != 1 else ''}",
            tax_lines=tuple(tax_lines),
            total_text=format_money(totals.total, cur),
            message=self._message,
            message_is_error=self._error,
            can_pay=bool(rows) and not self._busy,
            pay_text="Send sale again" if self.unsent_sale() is not None else "Pay cash",
            can_edit=bool(rows) and not self._busy,
            completed=self._completed,
            connection_text=self._connection[0],
            connection_ok=self._connection[1],
            printer_text=self._printer[0],
            printer_ok=self._printer[1],
        )

    @property
    def busy(self) -> bool:
        return self._busy

    def scan(self, code: str) -> None:
        """Add the product with this barcode, or say why not; an unknown code changes nothing."""
        if self._busy:
            self._say("Wait until the store server has the last sale.", error=True)
            return
        try:
            line = self.lane.scan(code)
        except LaneError as exc:
            self._say(str(exc), error=True)
            return
        self._completed = None
        self._selected = next(i for i, ln in enumerate(self.lane.basket.lines) if ln.product.sku == line.product.sku)
        price = format_money(line.product.price, self.lane.currency)
        self._say(f"{line.product.name}  {price}", error=False)

    def select(self, index: int | None) -> None:
        self._selected = index

    def change_quantity(self, delta: int) -> None:
        """Add ``delta`` to the selected line (the last line when none is selected); zero voids it."""
        index = self._target()
        if index is None:
            return
        line = self.lane.basket.lines[index]
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
        if index is None:
            return
        line = self.lane.void_line(index)
        self._after_removal(index, line.product.name)

    def payment_started(self) -> bool:
        """True when there is something to pay for."""
        if self._busy or self.lane.basket.is_empty():
            self._say("Scan an item first." if not self._busy else "The last sale is still being sent.", error=True)
            return False
        return True

    def sale_sent(self) -> None:
        self._busy = True
        self._say("Sending the sale to the store server…", error=False)

    def sale_committed(self, sale: Sale) -> None:
        self._busy = False
        self._unsent = None
        self.lane.start_next_customer()
        self._selected = None
        cur = sale.currency
        self._completed = CompletedDisplay(
            change_text=format_money(sale.change, cur),
            paid_text=f"Paid {format_money(sale.tendered, cur)} cash for {format_money(sale.total, cur)}",
        )
        self._say("Sale complete. Scan the next customer's first item.", error=False)

    def sale_failed(self, sentence: str, sale: Sale) -> None:
        self._busy = False
        self._unsent = sale
        self._say(f"{sentence} The sale is not recorded yet; the basket is kept, so send it again.", error=True)

    def show_error(self, sentence: str) -> None:
        self._say(sentence, error=True)

    def unsent_sale(self) -> Sale | None:
        """The sale that failed to send, while the basket still matches it.

        Sending that same sale again (same id) is safe: the server records it once even if the
        first attempt did reach it. Once the basket changes, a new sale is made at payment.
        """
        sale = self._unsent
        if sale is None:
            return None
        now = [(ln.product.sku, ln.quantity) for ln in self.lane.basket.lines]
        if now != [(ln.sku, ln.quantity) for ln in sale.lines]:
            self._unsent = None
            return None
        return sale

    def connection_changed(self, text: str, ok: bool) -> None:
        self._connection = (text, ok)

    def printer_changed(self, text: str, ok: bool) -> None:
        self._printer = (text, ok)

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
