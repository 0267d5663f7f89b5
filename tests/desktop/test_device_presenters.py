"""What the screens and the customer display show for weighing, card payments and devices; no widgets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from peripherals.payment import UNKNOWN_MESSAGE, IntentKind, IntentState, PaymentIntent, PaymentResult, Prompt
from peripherals.payment.results import result_for
from peripherals.printer_status import Health
from peripherals.scale_codec import ScaleReading, WeightState
from pos_core.catalogue import Catalogue, Product, Sku
from pos_core.tax import TaxClass
from pos_desktop.app.device_status import DeviceStatus
from pos_desktop.app.payment_presenter import PaymentPresenter
from pos_desktop.app.sale_presenter import SalePresenter
from pos_desktop.lane.card import card_tender
from pos_desktop.lane.customer_display import due_screen, idle_screen, item_screen, paid_screen
from pos_desktop.lane.printing import PrintOutcome
from pos_desktop.lane.session import LaneSession
from pos_desktop.lane.weighing import SETTLING, Weighing, judge
from pos_desktop.lane.wire import Cashier, StoreInfo, Welcome

APPLES = Product(Sku("SKU-A"), "2100002000003", "Elstar apples loose", 249, "reduced", sold_by="weight")
MILK = Product(Sku("SKU-1"), "4000000000017", "Oat milk 1 l", 189, "reduced")
INTENT = PaymentIntent(
    "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "tcp:127.0.0.1:7001", IntentKind.PAY, 638, "EUR", "sale-1", None,
    IntentState.SENT, "2026-11-27T10:15:00.000+00:00", "2026-11-27T10:15:00.000+00:00",
)  # fmt: skip


def lane() -> LaneSession:
    welcome = Welcome(StoreInfo("s", "Corner Shop", "EUR", True, ()), {"reduced": TaxClass("reduced", "R", 70_000)})
    session = LaneSession(welcome, Catalogue([APPLES, MILK]), "Till 1", clock=lambda: "2026-11-27T10:15:00+00:00")
    session.log_in(Cashier("c1", "Alex Morgan"))
    return session


def settled(state: IntentState, **fields: str) -> PaymentResult:
    return result_for(replace(INTENT, state=state, **fields))  # type: ignore[arg-type]


BELOW_ZERO = "The scale reads below zero; take everything off and zero it."
TOO_HEAVY = "That is more than the scale can weigh; weigh it in smaller lots."


@pytest.mark.parametrize(
    ("reading", "grams", "sentence", "waiting"),
    [
        (ScaleReading(WeightState.STABLE, 534), 534, "Weighed Elstar apples loose.", False),
        (ScaleReading(WeightState.IN_MOTION), None, SETTLING, True),
        (ScaleReading(WeightState.STABLE, 0, at_zero=True), None, "Put the Elstar apples loose on the scale.", True),
        (ScaleReading(WeightState.STABLE, -20), None, BELOW_ZERO, False),
        (ScaleReading(WeightState.UNDER_ZERO), None, BELOW_ZERO, False),
        (ScaleReading(WeightState.OVER_CAPACITY), None, TOO_HEAVY, False),
        (ScaleReading(WeightState.ERROR), None, "The scale reports a fault; switch it off and on again.", False),
    ],
)
def test_only_a_steady_weight_above_zero_is_charged(
    reading: ScaleReading, grams: int | None, sentence: str, waiting: bool
) -> None:
    verdict = judge(reading, APPLES)
    assert (verdict.grams, verdict.sentence, verdict.waiting) == (grams, sentence, waiting)


def test_a_weighed_product_is_added_only_once_the_weight_is_steady_and_stale_answers_are_ignored() -> None:
    p = SalePresenter(lane())
    assert p.scan("2100002000003") == APPLES, "handed back to be weighed, not added"
    assert p.display().rows == ()
    first = Weighing(1, APPLES)
    p.weighing_started(first)
    assert p.display().weighing_text == "Weighing Elstar apples loose at €2.49/kg"
    assert not p.display().can_pay
    p.weighed(first, judge(ScaleReading(WeightState.IN_MOTION), APPLES))
    assert (p.display().message, p.display().message_is_error) == (SETTLING, False)
    second = Weighing(2, APPLES)
    p.weighing_started(second)
    assert p.weighed(first, judge(ScaleReading(WeightState.STABLE, 900), APPLES)) is None, "an older weighing"
    line = p.weighed(second, judge(ScaleReading(WeightState.STABLE, 534), APPLES))
    assert line is not None
    d = p.display()
    assert [(r.name, r.quantity, r.price, r.amount) for r in d.rows] == [
        ("Elstar apples loose", "0.534 kg", "€2.49/kg", "€1.33")
    ]
    assert d.weighing_text is None
    assert d.item_count_text == "1 item"
    assert not d.can_change_quantity
    p.change_quantity(+1)
    assert p.display().message == "Elstar apples loose is sold by weight; void the line and weigh it again."
    assert p.customer_screen() == ("Elstar apples l 1.33", "Total       EUR 1.33")


def test_a_tared_product_is_charged_its_net_weight_and_a_reading_lighter_than_its_container_is_not() -> None:
    punnet = Product(
        Sku("SKU-P"), "2100007000008", "Cherries (punnet)", 899, "reduced", sold_by="weight", tare_grams=18
    )
    below = judge(ScaleReading(WeightState.BELOW_TARE, None, net=True, tare_grams=18), punnet)
    assert below.grams is None
    assert below.sentence == (
        "The scale reads less than the Cherries (punnet)'s 0.018 kg container; put it on the scale in its container."
    )
    p = SalePresenter(lane())
    weighing = Weighing(1, punnet)
    p.weighing_started(weighing)
    assert p.display().weighing_text == "Weighing Cherries (punnet) at €8.99/kg, less its 0.018 kg container"
    assert p.weighed(weighing, below) is None
    assert p.display().rows == ()
    assert p.display().message == below.sentence
    net = judge(ScaleReading(WeightState.STABLE, 516, net=True, tare_grams=18), punnet)  # 534 g gross
    assert p.weighed(weighing, net) is not None
    assert [(r.quantity, r.amount) for r in p.display().rows] == [("0.516 kg", "€4.64")]  # 8.99 x 0.516 = 4.63884
    assert p.display().message == "Cherries (punnet)  0.516 kg net (tare 0.018 kg)  €4.64"
    sale = p.lane.pay(cash=500)
    assert (sale.lines[0].quantity, sale.lines[0].tare_grams) == (516, 18)


def test_the_customer_display_texts_fit_twenty_characters() -> None:
    session = lane()
    line = session.add(MILK)
    assert item_screen(line, 189, "EUR") == ("Oat milk 1 l    1.89", "Total       EUR 1.89")
    assert due_screen(1234567, "EUR") == ("Please pay", "Total  EUR 12,345.67")
    assert idle_screen("Corner Shop") == ("Welcome to Corner".center(20).rstrip(), "Shop".center(20).rstrip())
    sale = session.pay(cash=500)
    assert paid_screen(sale) == ("Cash            5.00", "Change          3.11")
    approved = result_for(
        replace(INTENT, amount=189, state=IntentState.APPROVED, auth_code="A1", card_brand="VISA", last4="4727")
    )
    assert paid_screen(session.pay(card=card_tender(approved))) == ("Card            1.89", "Thank you!")


def test_a_card_payment_from_start_to_approval() -> None:
    p = PaymentPresenter(638, "EUR", card_available=True)
    assert p.display().card.button_text == "Pay €6.38 by card"
    p.set_text("2")
    assert p.display().card.button_text == "Card €4.38 + cash €2.00"
    assert p.display().message == "Ask for more cash, or let the card pay the rest."
    assert p.card_started() == 438
    d = p.display()
    assert (d.can_close, d.can_type_cash, d.can_confirm, d.card.can_start, d.card.can_cancel) == (
        False, False, False, False, True,
    )  # fmt: skip
    assert d.message == "Card payment of €4.38 in progress on the terminal; wait, or cancel it."
    p.card_prompted(Prompt(INTENT.intent_id, "enter_pin", "PIN eingeben"))
    assert p.display().card.prompt == "The customer is entering their PIN."
    p.card_prompted(Prompt(INTENT.intent_id, "insert_coin", "Bitte Münze"))
    assert p.display().card.prompt == "Bitte Münze", "unknown prompts show the terminal's words"
    approved = settled(IntentState.APPROVED, auth_code="SA1", card_brand="VISA", last4="4727")
    p.card_finished(approved)
    assert p.card_approved
    assert p.card_result is approved
    assert p.cash_beside_card() == 200


def test_an_unknown_card_payment_holds_the_dialog_until_it_is_settled() -> None:
    p = PaymentPresenter(638, "EUR", card_available=True)
    p.card_started()
    p.card_finished(settled(IntentState.UNKNOWN))
    d = p.display()
    assert d.message == UNKNOWN_MESSAGE
    assert (d.can_close, d.can_type_cash, d.card.can_start, d.card.can_check, d.card.can_settle) == (
        False, False, False, True, True,
    )  # fmt: skip
    assert d.card.prompt == "Look at the terminal: was €6.38 paid?"
    p.card_settled(settled(IntentState.UNKNOWN))
    assert p.display().message == UNKNOWN_MESSAGE
    p.card_settled(settled(IntentState.CANCELLED))
    d = p.display()
    assert d.can_close
    assert d.card.can_start
    assert d.message == "The card payment of €6.38 was cancelled; no money was taken. You may take payment again."


def test_an_earlier_unsettled_payment_blocks_only_the_card() -> None:
    p = PaymentPresenter(389, "EUR", card_available=True, blocked=replace(INTENT, state=IntentState.UNKNOWN))
    d = p.display()
    assert not d.card.can_start
    assert d.card.can_check
    assert d.can_close
    p.set_text("5")
    assert p.display().can_confirm, "cash still works"
    assert p.display().message == UNKNOWN_MESSAGE
    p.card_settled(settled(IntentState.APPROVED, auth_code="SA1", card_brand="VISA", last4="4727"))
    assert not p.card_approved, "that money was for another sale"
    assert p.display().message.endswith("Its sale was not completed on this register; refund it on the terminal.")


def test_declines_and_unreachable_terminals_leave_the_payment_open() -> None:
    p = PaymentPresenter(638, "EUR", card_available=True)
    p.card_started()
    p.card_finished(settled(IntentState.DECLINED, detail="Not authorised"))
    d = p.display()
    assert (d.message, d.message_is_error, d.card.can_start, d.can_close) == (
        "The card was declined (Not authorised); ask for another way to pay.", True, True, True,
    )  # fmt: skip
    p.card_started()
    p.card_failed(
        "The card terminal at 127.0.0.1:9 does not answer; check it is on and connected. Nothing was charged.", None
    )
    assert p.display().message.endswith("Nothing was charged.")
    assert p.display().card.can_start


def test_the_status_bar_names_what_is_wrong_in_the_drivers_words() -> None:
    status = DeviceStatus(["receipt printer", "scale", "customer display"], [])
    assert status.line() == ("Scale, customer display: ready", True)
    status.failed("scale", "The scale on /dev/ttyUSB1 does not answer; check it is on and its cable is in.")
    assert status.line() == (
        "Scale: The scale on /dev/ttyUSB1 does not answer; check it is on and its cable is in.",
        False,
    )
    status.failed("receipt printer", "printer trouble has its own line")
    status.health_changed("scale", Health.ONLINE)
    assert status.line() == ("Scale, customer display: ready", True)
    assert DeviceStatus([], ["The scale address 'com9' must be a serial port."]).line()[1] is False
    assert PrintOutcome(2, "The receipt printer is out of paper; load a new roll.").status_line() == (
        "Receipt printer: The receipt printer is out of paper; load a new roll. 2 receipts wait and will print when"
        " it is back.",
        False,
    )
    assert PrintOutcome(0, None, 1).status_line() == ("Receipt printer: ready", True)


def test_a_basket_paid_by_card_cannot_change_until_its_sale_is_sent() -> None:
    session = lane()
    p = SalePresenter(session, card_available=True)
    p.scan("4000000000017")
    approved = result_for(
        replace(INTENT, amount=189, state=IntentState.APPROVED, auth_code="A1", card_brand="VISA", last4="4727")
    )
    sale = session.pay(card=card_tender(approved))
    p.sale_sent(sale)
    p.sale_failed("Cannot reach the store server at ws://x/register.", sale)
    for change in (lambda: p.scan("4000000000017"), lambda: p.change_quantity(+1), p.void_line):
        change()
        assert p.display().message == "The store server may not have recorded this sale; send it again to be sure."
    assert p.unsent_sale() is sale
    assert p.display().pay_text == "Send sale again"
