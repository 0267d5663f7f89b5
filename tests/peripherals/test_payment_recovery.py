"""Crash and restart mid-payment: the intent on disk and the terminal's answer settle it, never a second charge."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peripherals.fakes.terminal_simulator import TerminalSimulator
from peripherals.payment import (
    UNKNOWN_MESSAGE,
    IntentKind,
    IntentState,
    IntentStore,
    PaymentTerminal,
    Prompt,
    TerminalBusy,
    TerminalTimeouts,
    open_terminal,
)

TIMEOUTS = TerminalTimeouts(connect=1.0, answer=2.0, payment=5.0)
REPO = Path(__file__).resolve().parents[2]


class RegisterDied(BaseException):
    """Stands for the process ending mid-payment: nothing below the raise runs, no handler catches it."""


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    with TerminalSimulator(["late"]) as simulator:
        yield simulator


def _register(sim: TerminalSimulator, folder: Path) -> PaymentTerminal:
    """A register starting up: its intent store from disk, its terminal by the configured address."""
    return open_terminal(f"tcp:127.0.0.1:{sim.port}", IntentStore(folder), terminal_id="lane-1", timeouts=TIMEOUTS)


def _die(_prompt: Prompt) -> None:
    raise RegisterDied


def _crash_mid_payment(sim: TerminalSimulator, folder: Path) -> str:
    """Start a payment and die at the terminal's first prompt; returns the intent id left on disk."""
    register = _register(sim, folder)
    with pytest.raises(RegisterDied):
        register.pay(1250, "EUR", "S-0100", on_prompt=_die)
    intent = register.store.outstanding("lane-1")
    assert intent is not None
    assert intent.state is IntentState.SENT
    return intent.intent_id


def test_restarted_register_recovers_the_true_outcome(sim: TerminalSimulator, tmp_path: Path) -> None:
    intent_id = _crash_mid_payment(sim, tmp_path)
    sim.wait_for_state(intent_id, "approved")  # the customer finished paying while the register was down
    restarted = _register(sim, tmp_path)
    with pytest.raises(TerminalBusy):  # before recovery nothing may charge the customer again
        restarted.pay(1250, "EUR", "S-0100")
    [result] = restarted.recover()
    assert result.intent_id == intent_id
    assert result.approved
    assert (result.intent.last4, result.intent.sale_ref) == ("4727", "S-0100")
    assert sim.pay_requests(intent_id) == 1
    assert restarted.outstanding() is None


def test_terminal_down_at_restart_means_unknown_and_no_second_charge(sim: TerminalSimulator, tmp_path: Path) -> None:
    intent_id = _crash_mid_payment(sim, tmp_path)
    sim.wait_for_state(intent_id, "approved")
    sim.stop()
    restarted = _register(sim, tmp_path)
    [result] = restarted.recover()
    assert result.state is IntentState.UNKNOWN
    assert result.message == UNKNOWN_MESSAGE
    with pytest.raises(TerminalBusy, match=r"still busy with a payment of €12\.50"):
        restarted.pay(1250, "EUR", "S-0100")
    sim.start()  # the terminal is back, on the same address, with its memory
    [settled] = restarted.recover()
    assert settled.approved
    assert sim.pay_requests(intent_id) == 1
    assert [r.TYPE for r in sim.requests] == ["pay", "status"]


def test_terminal_that_forgot_the_payment_leaves_it_unknown(sim: TerminalSimulator, tmp_path: Path) -> None:
    intent_id = _crash_mid_payment(sim, tmp_path)
    sim.wait_for_state(intent_id, "approved")
    sim.payments.clear()  # a terminal reset wiped its journal
    [result] = _register(sim, tmp_path).recover()
    assert result.state is IntentState.UNKNOWN
    assert result.intent.detail == "the terminal does not know it"
    assert sim.pay_requests(intent_id) == 1


def test_intent_written_but_never_sent_is_cancelled_without_asking(sim: TerminalSimulator, tmp_path: Path) -> None:
    store = IntentStore(tmp_path)  # the register stopped right after writing the intent
    intent = store.create(terminal_id="lane-1", kind=IntentKind.PAY, amount=900, currency="EUR", sale_ref="S-0101")
    store.close()
    [result] = _register(sim, tmp_path).recover()
    assert result.intent_id == intent.intent_id
    assert result.state is IntentState.CANCELLED
    assert result.message == "The card payment of €9.00 was cancelled; no money was taken."
    assert sim.requests == []


def test_register_process_killed_mid_payment(sim: TerminalSimulator, tmp_path: Path) -> None:
    child = f"""
import sys
from pathlib import Path
from peripherals.payment import IntentStore, TerminalTimeouts, open_terminal
terminal = open_terminal("tcp:127.0.0.1:{sim.port}", IntentStore(Path(sys.argv[1])), terminal_id="lane-1",
                         timeouts=TerminalTimeouts(payment=60))
terminal.pay(1250, "EUR", "S-0102")
"""
    process = subprocess.Popen([sys.executable, "-c", child, str(tmp_path)], cwd=REPO)
    try:
        [pay] = sim.wait_for_requests(1, timeout=15)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)
    sim.wait_for_state(pay.intent_id, "approved")
    [result] = _register(sim, tmp_path).recover()
    assert result.intent_id == pay.intent_id
    assert result.approved
    assert sim.pay_requests(pay.intent_id) == 1


def test_simulator_runs_standalone_for_the_demo(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "peripherals.fakes.terminal_simulator", "--port", "0", "--script", "decline",
         "--step-delay", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(process.stdout, selectors.EVENT_READ)
            assert sel.select(15), "the simulator printed nothing"
        line = process.stdout.readline()
        assert line.startswith("card terminal simulator listening on 127.0.0.1:")
        target = line.split("target ")[1].rstrip(")\n")
        terminal = open_terminal(target, IntentStore(tmp_path), timeouts=TIMEOUTS)
        assert terminal.pay(1250, "EUR", "S-0103").state is IntentState.DECLINED
        assert terminal.pay(1250, "EUR", "S-0104").approved  # the default once the script is used up
    finally:
        process.terminate()
        process.wait(10)
