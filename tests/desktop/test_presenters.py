"""Presenters turn lane state into what the screens show; no widgets, no server."""

from __future__ import annotations

from pos_core.catalogue import Catalogue, Product, Sku
from pos_core.tax import TaxClass
from pos_desktop.app.login_presenter import LoginPresenter
from pos_desktop.app.payment_presenter import PaymentPresenter
from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.lane.session import LaneSession
from pos_desktop.lane.wire import Cashier, StoreInfo, Welcome

ALEX = Cashier("c-alex", "Alex Morgan")
SAM = Cashier("c-sam", "Sam Patel")


def lane(*, prices_include_tax: bool = True) -> LaneSession:
    welcome = Welcome(
        StoreInfo("s", "Corner Shop", "EUR", prices_include_tax, ("1 Test Street",)),
        {"reduced": TaxClass("reduced", "Reduced", 70_000), "standard": TaxClass("standard", "Standard", 190_000)},
    )
    catalogue = Catalogue(
        [
            Product(Sku("SKU-1"), "4000000000017", "Oat milk 1 l", 189, "reduced"),
            Product(Sku("SKU-2"), "4000000000024", "Dish soap", 399, "standard"),
        ]
    )
    session = LaneSession(welcome, catalogue, "Till 1", clock=lambda: "2026-11-27T10:15:00+00:00")
    session.log_in(ALEX)
    return session


def test_login_masks_the_pin_and_hands_it_over_once() -> None:
    p = LoginPresenter()
    assert p.display().message == "Connecting to the store server…"
    p.set_cashiers([ALEX, SAM])
    assert p.display().prompt == "Tap your name"
    assert p.submit() is None
    assert p.display().message == "Tap your name first."
    p.select(SAM.id)
    for d in "24x68":
        p.press_digit(d)
    d = p.display()
    assert d.pin_mask == "●●●●"
    assert d.prompt == "Sam Patel, enter your PIN"
    assert "2468" not in repr(d)
    assert d.can_submit
    assert p.submit() == (SAM.id, "2468")
    assert p.display().pin_mask == ""
    assert not p.display().can_submit, "no second login while the first is being checked"
    p.login_failed("That PIN is wrong; try again.")
    assert p.display().message_is_error
    p.press_digit("1")
    assert p.display().message == "", "typing again clears the old error"


def test_login_offers_a_retry_when_the_server_cannot_be_reached() -> None:
    p = LoginPresenter()
    p.connection_failed("Cannot reach the store server at ws://10.0.0.5:8765/register.")
    d = p.display()
    assert d.can_retry
    assert d.message_is_error
    assert not d.can_submit


def test_one_cashier_is_preselected() -> None:
    p = LoginPresenter()
    p.set_cashiers([ALEX])
    assert p.display().prompt == "Alex Morgan, enter your PIN"


def test_sale_rows_taxes_and_total() -> None:
    p = SalePresenter(lane())
    p.scan("4000000000017")
    p.scan("4000000000017")
    p.scan("4000000000024")
    d = p.display()
    assert [(r.name, r.quantity, r.price, r.amount) for r in d.rows] == [
        ("Oat milk 1 l", "2", "€1.89", "€3.78"),
        ("Dish soap", "1", "€3.99", "€3.99"),
    ]
    assert d.tax_lines == (("incl. tax 7% on €3.78", "€0.25"), ("incl. tax 19% on €3.99", "€0.64"))
    assert d.total_text == "€7.77"
    assert d.item_count_text == "3 items"
    assert d.message == "Dish soap  €3.99"
    assert d.selected == 1
    assert d.can_pay


def test_tax_on_top_shows_a_subtotal() -> None:
    p = SalePresenter(lane(prices_include_tax=False))
    p.scan("4000000000024")
    d = p.display()
    assert d.tax_lines == (("Subtotal", "€3.99"), ("tax 19% on €3.99", "€0.76"))
    assert d.total_text == "€4.75"


def test_unknown_barcode_says_so_and_changes_nothing() -> None:
    p = SalePresenter(lane())
    p.scan("4000000000017")
    before = p.display()
    p.scan(" 999 \n")
    after = p.display()
    assert after.message == "No product with barcode 999; check the number or look it up."
    assert after.message_is_error
    assert after.rows == before.rows
    assert after.total_text == before.total_text


def test_quantity_buttons_and_void() -> None:
    p = SalePresenter(lane())
    p.scan("4000000000017")
    p.scan("4000000000024")
    p.select(0)
    p.change_quantity(+1)
    assert p.display().rows[0].quantity == "2"
    p.change_quantity(-1)
    p.change_quantity(-1)
    d = p.display()
    assert [r.name for r in d.rows] == ["Dish soap"]
    assert d.message == "Removed Oat milk 1 l."
    p.void_line()
    assert p.display().rows == ()
    assert not p.display().can_pay


def test_a_committed_sale_shows_change_until_the_next_scan() -> None:
    session = lane()
    p = SalePresenter(session)
    p.scan("4000000000024")
    assert p.payment_started()
    sale = session.pay_cash(500)
    p.sale_sent(sale)
    assert not p.display().can_pay
    p.scan("4000000000017")
    assert p.display().message == "Wait until the store server has the last sale."
    p.sale_committed(sale)
    d = p.display()
    assert d.completed is not None
    assert d.completed.change_text == "€1.01"
    assert d.completed.paid_text == "Paid €5.00 cash for €3.99"
    assert d.rows == ()
    p.scan("4000000000017")
    assert p.display().completed is None


def test_a_sale_without_an_answer_locks_the_basket_until_the_same_sale_is_sent() -> None:
    session = lane()
    p = SalePresenter(session)
    p.scan("4000000000024")
    sale = session.pay_cash(399)
    p.sale_sent(sale)
    p.sale_failed("Cannot reach the store server at ws://x/register.", sale)
    d = p.display()
    assert d.message_is_error
    assert d.message == (
        "Cannot reach the store server at ws://x/register. "
        "The store server may not have recorded this sale; send it again to be sure."
    )
    assert len(d.rows) == 1
    assert d.pay_text == "Send sale again"
    assert not d.can_edit
    assert not d.can_log_out
    assert p.unsent_sale() is sale
    for change in (lambda: p.scan("4000000000017"), lambda: p.change_quantity(+1), p.void_line):
        change()
        assert p.display().message == "The store server may not have recorded this sale; send it again to be sure."
    assert [r.quantity for r in p.display().rows] == ["1"], "the basket did not change"
    assert p.unsent_sale() is sale
    # A resend refused for the login (not for the sale) still says nothing about the first attempt.
    p.sale_sent(sale)
    p.sale_refused("Log a cashier in on this connection before sending sales.", "not_logged_in", sale)
    assert p.unsent_sale() is sale
    p.sale_sent(sale)
    p.sale_committed(sale)
    assert p.display().rows == ()
    assert p.display().can_log_out


def test_a_refused_sale_unlocks_the_basket_and_is_not_offered_again() -> None:
    session = lane()
    p = SalePresenter(session)
    p.scan("4000000000024")
    sale = session.pay_cash(399)
    p.sale_sent(sale)
    p.sale_refused("No product with SKU SKU-2.", "unknown_sku", sale)
    d = p.display()
    assert d.message == (
        "The store server refused this sale: No product with SKU SKU-2. "
        "It is not recorded; correct the basket and take payment again."
    )
    assert d.pay_text == "Pay cash"
    assert p.unsent_sale() is None
    assert d.can_edit
    assert d.can_log_out
    p.void_line()
    assert p.display().rows == ()


def test_payment_change_and_short() -> None:
    p = PaymentPresenter(638, "EUR")
    assert p.quick_amounts() == [638, 700, 1000, 2000]
    assert not p.display().can_confirm
    p.set_text("5")
    d = p.display()
    assert (d.change_label, d.change_text, d.can_confirm) == ("Short", "€1.38 short", False)
    p.set_text("20,00")
    d = p.display()
    assert (d.change_label, d.change_text, d.can_confirm) == ("Change", "€13.62", True)
    assert p.tendered() == 2000
    p.set_text("abc")
    assert p.display().message == "'abc' is not an amount; type e.g. 20.00."
    assert p.tendered() is None


def test_quick_cash_for_a_round_total() -> None:
    p = PaymentPresenter(2000, "EUR")
    assert p.quick_amounts() == [2000, 5000, 10000, 20000]
    assert p.plain_text(2000) == "20.00"


def test_the_lane_empties_the_basket_when_the_sale_it_sent_is_accepted() -> None:
    session = lane()
    session.scan("4000000000024")
    sale = session.pay_cash(399)
    session.sale_sent(sale)
    assert session.sending
    other = session.pay_cash(500)
    assert not session.sale_accepted(other), "only the sale that was sent empties the basket"
    assert not session.basket.is_empty()
    assert session.sale_accepted(sale)
    assert session.basket.is_empty()
    assert session.pending is None
    assert not session.sending


def test_weigh_keys_offer_loose_goods_before_goods_in_a_container() -> None:
    welcome = Welcome(StoreInfo("s", "Corner Shop", "EUR", True, ()), {"reduced": TaxClass("reduced", "R", 70_000)})
    weighed = [
        Product(Sku("W-1"), "2100001000003", "Apples", 299, "reduced", sold_by="weight"),
        Product(Sku("W-2"), "2100002000002", "Cherries (punnet)", 999, "reduced", sold_by="weight", tare_grams=18),
        Product(Sku("W-3"), "2100003000001", "Bananas", 169, "reduced", sold_by="weight"),
        Product(Sku("P-1"), "4000000000017", "Oat milk 1 l", 189, "reduced"),
    ]
    session = LaneSession(welcome, Catalogue(weighed), "Till 1")
    assert [p.name for p in session.weighed_products()] == ["Apples", "Bananas", "Cherries (punnet)"]
