"""The payment intent store: durable rows, one outstanding intent per terminal, settled means settled."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from peripherals.errors import DeviceUnavailable
from peripherals.payment.intents import FILE_NAME, IntentKind, IntentState, IntentStore, TerminalBusy

CREATED, SENT, UNKNOWN = IntentState.CREATED, IntentState.SENT, IntentState.UNKNOWN
APPROVED, DECLINED, CANCELLED = IntentState.APPROVED, IntentState.DECLINED, IntentState.CANCELLED


@pytest.fixture
def store(tmp_path: Path) -> IntentStore:
    return IntentStore(tmp_path)


def _pay(store: IntentStore, amount: int = 1250, terminal: str = "lane-1", kind: IntentKind = IntentKind.PAY):
    return store.create(terminal_id=terminal, kind=kind, amount=amount, currency="EUR", sale_ref="S-1")


def test_an_intent_is_on_disk_when_create_returns(tmp_path: Path, store: IntentStore) -> None:
    intent = _pay(store)
    other = IntentStore(tmp_path)  # another connection, as a restarted register would open
    assert other.get(intent.intent_id) == intent
    assert intent.state is CREATED
    assert (intent.amount, intent.currency, intent.sale_ref, intent.kind) == (1250, "EUR", "S-1", IntentKind.PAY)
    sent = store.transition(intent.intent_id, SENT)
    assert other.get(intent.intent_id) == sent
    assert other.outstanding("lane-1") == sent


def test_one_outstanding_intent_per_terminal(store: IntentStore) -> None:
    first = _pay(store, 1250)
    with pytest.raises(TerminalBusy) as err:
        _pay(store, 300)
    assert str(err.value) == "The card terminal is still busy with a payment of €12.50; finish or cancel it first."
    assert err.value.intent == first
    _pay(store, 300, terminal="lane-2")  # another terminal is free
    store.transition(first.intent_id, SENT)
    store.transition(first.intent_id, UNKNOWN)
    with pytest.raises(TerminalBusy):
        _pay(store, 300)
    store.transition(first.intent_id, APPROVED, auth_code="A1", card_brand="VISA", last4="4727")
    assert _pay(store, 300).state is CREATED


def test_a_refund_blocks_in_the_same_way(store: IntentStore) -> None:
    _pay(store, 500, kind=IntentKind.REFUND)
    with pytest.raises(TerminalBusy, match=r"^The card terminal is still busy with a refund of €5.00; finish"):
        _pay(store)


def test_the_database_itself_refuses_a_second_outstanding_intent(tmp_path: Path, store: IntentStore) -> None:
    intent = _pay(store)
    db = sqlite3.connect(tmp_path / FILE_NAME)
    row = db.execute("SELECT * FROM payment_intent WHERE intent_id = ?", (intent.intent_id,)).fetchone()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO payment_intent VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ("other", *row[1:]))
    with pytest.raises(sqlite3.IntegrityError):  # only the last 4 digits fit in the card column
        db.execute("UPDATE payment_intent SET last4 = '45717' WHERE intent_id = ?", (intent.intent_id,))
    db.close()


def test_transitions_follow_the_life_of_a_payment(store: IntentStore) -> None:
    intent = _pay(store)
    with pytest.raises(ValueError, match="cannot go from created to approved"):
        store.transition(intent.intent_id, APPROVED)
    store.transition(intent.intent_id, SENT)
    store.transition(intent.intent_id, UNKNOWN, detail="no answer")
    settled = store.transition(intent.intent_id, APPROVED, auth_code="A1", card_brand="VISA", last4="4727")
    assert (settled.state, settled.auth_code, settled.last4, settled.detail) == (APPROVED, "A1", "4727", None)
    assert store.transition(intent.intent_id, CANCELLED) == settled  # a late answer cannot rewrite it
    assert store.get(intent.intent_id) == settled
    with pytest.raises(KeyError):
        store.transition("no-such-intent", SENT)


def test_only_from_is_a_compare_and_set(store: IntentStore) -> None:
    intent = _pay(store)
    sent = store.transition(intent.intent_id, SENT)
    assert store.transition(intent.intent_id, CANCELLED, only_from=CREATED) == sent
    assert store.transition(intent.intent_id, DECLINED, detail="Not authorised", only_from=SENT).state is DECLINED


def test_intents_lists_oldest_first(store: IntentStore) -> None:
    ids = []
    for amount in (100, 200, 300):
        intent = _pay(store, amount)
        store.transition(intent.intent_id, CANCELLED)
        ids.append(intent.intent_id)
    _pay(store, 400, terminal="lane-2")
    assert [i.intent_id for i in store.intents("lane-1")] == ids
    assert [i.amount for i in store.intents()] == [100, 200, 300, 400]


def test_a_folder_that_cannot_be_used_is_a_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DeviceUnavailable, match=r"^The payment record .* cannot be opened .*; check the disk"):
        IntentStore(blocker / "payments")
