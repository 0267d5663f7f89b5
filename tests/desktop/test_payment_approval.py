"""Settling an unknown card payment by hand asks a manager first (PaymentPresenter, no widgets)."""

from __future__ import annotations

from pathlib import Path

from peripherals.payment import UNKNOWN_MESSAGE, IntentKind, IntentState, IntentStore
from pos_desktop.app.payment_presenter import NO_MANAGER, OverrideRequest, PaymentPresenter, managers_other_than
from pos_desktop.lane.wire import Cashier, parse_cashiers

SAM = Cashier("sam-id", "Sam Patel", "manager")


def blocked_presenter(tmp_path: Path, approvers: tuple[Cashier, ...] = (SAM,)) -> PaymentPresenter:
    intents = IntentStore(tmp_path / "payments")
    intent = intents.create(terminal_id="t", kind=IntentKind.PAY, amount=1250, currency="EUR", sale_ref="s")
    intents.transition(intent.intent_id, IntentState.SENT)
    blocked = intents.get(intent.intent_id)
    intents.close()
    assert blocked is not None
    return PaymentPresenter(389, "EUR", card_available=True, blocked=blocked, approvers=approvers)


def test_the_paid_and_not_paid_buttons_ask_a_manager_and_settle_nothing_yet(tmp_path: Path) -> None:
    p = blocked_presenter(tmp_path)
    assert p.display().card.can_settle
    assert p.display().card.approval is None
    p.settle_requested(True)
    d = p.display()
    assert d.message == (
        "A manager must authorise marking €12.50 as paid: they pick their name, type their PIN on the keypad and "
        "tap Authorise."
    )
    assert (d.card.can_settle, d.card.can_check) == (False, False)
    assert d.card.prompt == "", "the cashier answered the terminal's question; the manager's replaces it"
    assert d.card.approval is not None
    assert (d.card.approval.question, d.card.approval.managers, d.card.approval.can_send) == (
        "Manager: authorise marking €12.50 as paid.", (SAM,), True,
    )  # fmt: skip


def test_a_request_needs_a_manager_and_a_pin_then_waits_for_the_server(tmp_path: Path) -> None:
    p = blocked_presenter(tmp_path)
    assert p.approval_request(SAM.id, "2468") is None, "nothing to authorise before paid/not paid is chosen"
    p.settle_requested(False)
    assert p.approval_request("someone-else", "2468") is None
    assert p.display().message == "Pick the manager's name first."
    assert p.approval_request(SAM.id, "") is None
    assert p.display().message == "Type the manager's PIN."
    assert p.blocked is not None
    request = p.approval_request(SAM.id, "2468")
    assert request == OverrideRequest(SAM.id, "2468", "card.settle_unpaid", p.blocked.intent_id)
    d = p.display()
    assert d.message == "Checking the manager's PIN…"
    assert d.card.approval is not None
    assert not d.card.approval.can_send
    assert not d.can_close
    assert p.approval_request(SAM.id, "2468") is None, "one request at a time"


def test_a_refusal_asks_again_and_a_grant_says_how_to_settle(tmp_path: Path) -> None:
    p = blocked_presenter(tmp_path)
    p.settle_requested(True)
    p.approval_request(SAM.id, "0000")
    p.approval_refused("That PIN is wrong; try again.")
    d = p.display()
    assert (d.message, d.message_is_error) == ("That PIN is wrong; try again.", True)
    assert d.card.approval is not None
    assert d.card.approval.can_send
    assert p.approval_granted("Sam Patel") is None, "a grant nobody waits for settles nothing"
    p.approval_request(SAM.id, "2468")
    assert p.approval_granted("Sam Patel") is True
    d = p.display()
    assert d.message == "Sam Patel authorised it; recording what the terminal showed…"
    assert d.card.approval is None


def test_back_returns_to_the_choice_and_without_anyone_else_it_says_so(tmp_path: Path) -> None:
    p = blocked_presenter(tmp_path)
    p.settle_requested(True)
    p.approval_cancelled()
    d = p.display()
    assert (d.message, d.card.can_settle, d.card.approval) == (UNKNOWN_MESSAGE, True, None)
    alone = blocked_presenter(tmp_path / "alone", approvers=())
    alone.settle_requested(True)
    d = alone.display()
    assert (d.message, d.message_is_error) == (NO_MANAGER, True)
    assert d.card.approval is None, "a sentence, not an empty list of managers"
    assert d.card.can_check, "asking the terminal again is still possible"
    assert d.card.can_settle


def test_the_picker_lists_only_the_managers_other_than_the_cashier() -> None:
    listed = parse_cashiers(
        {
            "cashiers": [
                {"id": "alex-id", "name": "Alex Morgan", "role": "cashier"},
                {"id": "kim-id", "name": "Kim Ode", "role": "manager"},
                {"id": "sam-id", "name": "Sam Patel", "role": "manager"},
            ]
        }
    )
    assert managers_other_than(listed, "alex-id") == (listed[1], listed[2])
    assert [m.name for m in managers_other_than(listed, "sam-id")] == ["Kim Ode"], "never the cashier themself"
    assert managers_other_than(listed[:2], "kim-id") == ()
    old_server = parse_cashiers({"cashiers": [{"id": "sam-id", "name": "Sam Patel"}]})
    assert managers_other_than(old_server, "alex-id") == (), "a list without roles names no manager"
