"""The card terminal client against the simulator over real TCP: every scripted outcome, cancel, refund."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from peripherals.device import EventKind
from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.fakes.terminal_simulator import SimulatedCard, TerminalSimulator
from peripherals.payment import (
    UNKNOWN_MESSAGE,
    IntentState,
    IntentStore,
    PaymentTerminal,
    Prompt,
    TerminalBusy,
    TerminalTimeouts,
    open_terminal,
)
from peripherals.payment.intents import FILE_NAME
from peripherals.payment.protocol import Accepted, Pay, decode_request, encode
from peripherals.printer_status import Health
from peripherals.worker import DeviceWorker

APPROVED, DECLINED, CANCELLED, UNKNOWN = (
    IntentState.APPROVED, IntentState.DECLINED, IntentState.CANCELLED, IntentState.UNKNOWN,
)  # fmt: skip
FAST = TerminalTimeouts(connect=1.0, answer=2.0, payment=5.0)
IMPATIENT = TerminalTimeouts(connect=1.0, answer=2.0, payment=0.3)  # gives up on a silent payment quickly
PAN = SimulatedCard().pan
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    with TerminalSimulator() as simulator:
        yield simulator


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IntentStore]:
    intents = IntentStore(tmp_path)
    yield intents
    intents.close()


def _terminal(sim: TerminalSimulator, store: IntentStore, timeouts: TerminalTimeouts = FAST) -> PaymentTerminal:
    return open_terminal(f"tcp:127.0.0.1:{sim.port}", store, terminal_id="lane-1", timeouts=timeouts)


def test_approved_payment_shows_prompts_and_keeps_only_what_a_receipt_may_show(
    sim: TerminalSimulator, store: IntentStore
) -> None:
    terminal = _terminal(sim, store)
    prompts: list[Prompt] = []
    result = terminal.pay(1250, "EUR", "S-0001", on_prompt=prompts.append)
    assert result.approved
    assert result.message == "Card payment of €12.50 approved (VISA ending 4727)."
    assert [p.code for p in prompts] == ["insert_card", "enter_pin", "processing"]
    stored = store.get(result.intent_id)
    assert stored == result.intent
    assert (stored.state, stored.card_brand, stored.last4, stored.sale_ref) == (APPROVED, "VISA", "4727", "S-0001")
    assert stored.auth_code
    assert sim.state_of(result.intent_id) == "approved"
    assert sim.requests == [Pay(result.intent_id, 1250, "EUR")]
    assert terminal.outstanding() is None
    assert terminal.device.health is Health.ONLINE


def test_declined_payment_says_why(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.add_script("decline")
    result = _terminal(sim, store).pay(4999, "EUR", "S-0002")
    assert result.state is DECLINED
    assert result.message == "The card was declined (Not authorised); ask for another way to pay."
    assert store.get(result.intent_id).detail == "Not authorised"


def test_disconnect_mid_payment_is_settled_by_asking_not_by_paying_again(
    sim: TerminalSimulator, store: IntentStore
) -> None:
    sim.add_script("disconnect")
    result = _terminal(sim, store).pay(1250, "EUR", "S-0003")
    assert result.approved  # the customer paid; the status question found out
    assert [r.TYPE for r in sim.requests] == ["pay", "status"]
    assert sim.pay_requests(result.intent_id) == 1


def test_silent_terminal_leaves_the_payment_unknown_and_blocks_a_second_charge(
    sim: TerminalSimulator, store: IntentStore
) -> None:
    sim.add_script("timeout")
    terminal = _terminal(sim, store, IMPATIENT)
    events = []
    terminal.device.subscribe(events.append)
    result = terminal.pay(1250, "EUR", "S-0004")
    assert result.state is UNKNOWN
    assert result.message == UNKNOWN_MESSAGE == "Payment status unknown — check the terminal before charging again."
    assert [e.detail for e in events if e.kind is EventKind.ERROR] == [UNKNOWN_MESSAGE]
    assert terminal.device.health is Health.OFF
    with pytest.raises(TerminalBusy, match=r"^The card terminal is still busy with a payment of €12.50; finish or"):
        terminal.pay(1250, "EUR", "S-0004")
    [still] = terminal.recover()  # the terminal says it is still at "insert card"
    assert still.state is UNKNOWN
    assert still.message.startswith("The card terminal is still working on a payment of €12.50")
    cancelled = terminal.cancel()
    assert cancelled is not None
    assert cancelled.state is CANCELLED
    assert cancelled.message == "The card payment of €12.50 was cancelled; no money was taken."
    assert sim.pay_requests(result.intent_id) == 1
    assert _terminal(sim, store).pay(1250, "EUR", "S-0004").approved  # the lane is free again


def test_late_approval_is_found_by_recover(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.add_script("late")
    terminal = _terminal(sim, store, IMPATIENT)
    result = terminal.pay(2000, "EUR", "S-0005")
    assert result.state is UNKNOWN
    sim.wait_for_state(result.intent_id, "approved")  # approves once the register hung up
    [recovered] = terminal.recover()
    assert recovered.intent_id == result.intent_id
    assert recovered.approved
    assert recovered.message == "Card payment of €20.00 approved (VISA ending 4727)."
    assert sim.pay_requests(result.intent_id) == 1
    assert terminal.recover() == []


def test_cancel_from_another_thread_while_pay_waits(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.add_script("timeout")
    terminal = _terminal(sim, store)
    asked = threading.Event()
    with DeviceWorker("card terminal") as worker:
        paying = worker.submit(terminal.pay, 1250, "EUR", "S-0006", on_prompt=lambda _p: asked.set())
        assert asked.wait(5)
        cancelled = terminal.cancel()
        result = paying.result(timeout=5)
    assert cancelled is not None
    assert cancelled.intent_id == result.intent_id
    assert cancelled.state is CANCELLED
    assert result.state is CANCELLED
    assert sim.state_of(result.intent_id) == "cancelled"
    assert terminal.cancel() is None


def test_cancel_after_approval_reports_the_approval(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.add_script("late")
    terminal = _terminal(sim, store, IMPATIENT)
    result = terminal.pay(1250, "EUR", "S-0007")
    sim.wait_for_state(result.intent_id, "approved")
    too_late = terminal.cancel()
    assert too_late is not None
    assert too_late.approved


def test_refund_of_an_approved_payment(sim: TerminalSimulator, store: IntentStore) -> None:
    terminal = _terminal(sim, store)
    paid = terminal.pay(1250, "EUR", "S-0008")
    refund = terminal.refund(500, "EUR", "R-0001", original_intent_id=paid.intent_id)
    assert refund.approved
    assert refund.message == "Refund of €5.00 approved (VISA ending 4727)."
    assert store.get(refund.intent_id).original_intent_id == paid.intent_id
    unknown_original = "0b5e7a1c-93d2-4f60-8e1a-7c4d2b9f3a10"
    refused = terminal.refund(500, "EUR", "R-0002", original_intent_id=unknown_original)
    assert refused.state is DECLINED
    assert refused.message == "The refund was declined (Not authorised); no money was returned."
    with pytest.raises(PeripheralError, match="not one the terminal can look up"):
        terminal.refund(500, "EUR", "R-0003", original_intent_id="S-0008")


def test_terminal_busy_with_another_register_takes_nothing(sim: TerminalSimulator, tmp_path: Path) -> None:
    sim.add_script("timeout")
    lane1 = open_terminal(f"tcp:127.0.0.1:{sim.port}", IntentStore(tmp_path / "r1"), timeouts=IMPATIENT)
    lane2 = open_terminal(f"tcp:127.0.0.1:{sim.port}", IntentStore(tmp_path / "r2"), timeouts=FAST)
    assert lane1.pay(1000, "EUR", "S-1").state is UNKNOWN
    refused = lane2.pay(700, "EUR", "S-2")
    assert refused.state is CANCELLED
    assert refused.message == "The card terminal is busy with another payment; finish it there, then try again."
    assert sim.state_of(refused.intent_id) is None  # never taken
    assert lane2.outstanding() is None


def test_unreachable_terminal_sends_nothing_and_frees_the_lane(sim: TerminalSimulator, store: IntentStore) -> None:
    terminal = _terminal(sim, store)
    sim.stop()
    with pytest.raises(DeviceUnavailable) as err:
        terminal.pay(1250, "EUR", "S-0009")
    assert str(err.value) == (
        f"The card terminal at 127.0.0.1:{sim.port} does not answer; check it is on and connected. Nothing was charged."
    )
    [intent] = store.intents()
    assert (intent.state, intent.detail) == (CANCELLED, "never sent: terminal unreachable")
    assert terminal.device.health is Health.OFF
    sim.start()
    assert terminal.pay(1250, "EUR", "S-0009").approved


def test_frozen_terminal_is_unknown_within_the_timeouts(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.mute = True
    terminal = _terminal(sim, store, TerminalTimeouts(connect=1.0, answer=0.3, payment=5.0))
    result = terminal.pay(1250, "EUR", "S-0010")
    assert result.state is UNKNOWN
    assert store.get(result.intent_id).detail == "the terminal did not answer the request"
    [again] = terminal.recover()
    assert again.message == UNKNOWN_MESSAGE


def test_wrong_use_is_refused_before_anything_is_written(sim: TerminalSimulator, store: IntentStore) -> None:
    terminal = PaymentTerminal("127.0.0.1", sim.port, store)
    with pytest.raises(PeripheralError, match=r"^The card terminal is not enabled; it is closed\.$"):
        terminal.pay(1250, "EUR", "S-1")
    terminal.open()
    with pytest.raises(PeripheralError, match=r"^A card amount must be from €0\.01 to €9,999,999\.99\.$"):
        terminal.pay(0, "EUR", "S-1")
    with pytest.raises(ConfigurationError, match="XYZ"):
        terminal.pay(100, "XYZ", "S-1")
    assert store.intents() == []
    for bad in ("tcp:127.0.0.1", "serial:/dev/ttyS0", "tcp:host:70000"):
        with pytest.raises(ConfigurationError, match=r"; use tcp:HOST:PORT\.$"):
            open_terminal(bad, store)


def test_resolve_by_hand_after_checking_the_terminal(sim: TerminalSimulator, store: IntentStore) -> None:
    sim.add_script("timeout")
    terminal = _terminal(sim, store, IMPATIENT)
    result = terminal.pay(1250, "EUR", "S-0011")
    sim.stop()  # the terminal is gone for good; the manager checked its printed journal
    with pytest.raises(PeripheralError, match="no card payment nope waiting"):
        terminal.resolve("nope", charged=False, note="x")
    settled = terminal.resolve(result.intent_id, charged=False, note=f"journal shows no sale, card {PAN}")
    assert settled.state is CANCELLED
    assert PAN[-5:] not in (settled.intent.detail or "")
    with pytest.raises(PeripheralError, match="this one is cancelled"):
        terminal.resolve(result.intent_id, charged=True, note="x")


def _hostile_terminal(listener: socket.socket) -> None:
    """A terminal that sends garbage, another version, a prompt with the card number and extra card fields."""
    conn, _ = listener.accept()
    with conn:
        request = decode_request(conn.makefile("rb").readline())
        i = request.intent_id
        conn.sendall(b"\x00\xffgarbage\n" + b'{"v":2,"type":"accepted","intent_id":"%s"}\n' % i.encode())
        conn.sendall(encode(Accepted(i)))
        prompt = {"v": 1, "type": "prompt", "intent_id": i, "code": "see_terminal", "text": f"Card {PAN}"}
        conn.sendall(json.dumps(prompt).encode() + b"\n")
        approved = {"v": 1, "type": "approved", "intent_id": i, "auth_code": "X1", "card_brand": "VISA"}
        approved |= {"last4": PAN[-4:], "pan": PAN, "track2": f";{PAN}=2512?"}
        conn.sendall(json.dumps(approved).encode() + b"\n")
        conn.recv(1)  # until the register closes


def test_hostile_terminal_cannot_put_card_data_into_logs_store_or_screen(
    store: IntentStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=_hostile_terminal, args=(listener,), daemon=True)
        server.start()
        terminal = open_terminal(f"tcp:127.0.0.1:{listener.getsockname()[1]}", store, timeouts=FAST)
        prompts: list[Prompt] = []
        result = terminal.pay(1250, "EUR", "S-0012", on_prompt=prompts.append)
        server.join(5)
    assert result.approved
    assert [p.text for p in prompts] == ["Card " + "*" * 16]
    _assert_no_card_data(caplog, tmp_path, result.message, repr(result))


def test_no_card_data_in_logs_store_or_on_the_wire(
    sim: TerminalSimulator, store: IntentStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.add_script("approve", "decline", "disconnect", "late")
    texts = []
    for amount, timeouts in ((100, FAST), (200, FAST), (300, FAST), (400, IMPATIENT)):
        terminal = _terminal(sim, store, timeouts)
        result = terminal.pay(amount, "EUR", "S-card", on_prompt=lambda p: texts.append(p.text))
        texts.append(result.message)
    sim.wait_for_state(result.intent_id, "approved")
    texts += [r.message for r in terminal.recover()]
    _assert_no_card_data(caplog, tmp_path, sim.sent_bytes().decode(), *texts)


def _assert_no_card_data(caplog: pytest.LogCaptureFixture, folder: Path, *texts: str) -> None:
    """No run of 5 digits from the card anywhere: log messages, the intent files, what was shown."""
    stored = b"".join(p.read_bytes() for p in folder.rglob(f"{FILE_NAME}*")).decode("latin-1")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "4727" in stored  # the last 4 are kept, for the receipt
    for text in (stored, logged, *texts):
        bare = re.sub(r"127\.0\.0\.1:\d+", "", UUID.sub("", text))  # ids and ports are not card data
        for start in range(len(PAN) - 4):
            assert PAN[start : start + 5] not in bare
