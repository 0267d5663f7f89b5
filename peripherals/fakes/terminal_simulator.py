"""A card terminal on 127.0.0.1 speaking protocol v1, with a scripted outcome for each payment.

Each ``pay`` or ``refund`` takes the next outcome from the script (``default`` once it is empty):

* ``approve`` / ``decline``: accepted, prompts (insert card, enter PIN, processing), the answer;
* ``timeout``: accepted, "insert card", then nothing: the payment stays open until cancelled;
* ``disconnect``: accepted, "insert card", then the customer pays but the connection drops
  before the answer is sent: only a ``status`` reveals ``approved``;
* ``late``: accepted and prompts, then silence until the register hangs up; then it approves, so
  a later ``status`` reveals ``approved``.

It remembers every intent across connections and across ``stop()``/``start()`` (same port), so
recovery can be tested; it never charges an intent id twice. One selector thread does all the
work, so what a test observes happens in a fixed order. It holds a simulated card and sends only
its last 4 digits. Run it by itself for a demo::

    python -m peripherals.fakes.terminal_simulator --port 7001 --script approve,decline,late
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from peripherals.fakes.loopback import LoopbackDevice
from peripherals.payment.protocol import (
    Accepted,
    Approved,
    Busy,
    Cancel,
    Cancelled,
    Declined,
    Error,
    Pay,
    Prompt,
    ProtocolError,
    Refund,
    Reply,
    Request,
    UnknownIntent,
    UnsupportedVersion,
    decode_request,
    encode,
    take_lines,
)

log = logging.getLogger(__name__)

OUTCOMES = ("approve", "decline", "timeout", "disconnect", "late")
IN_PROGRESS = "in_progress"
_PROMPTS = (("insert_card", "Insert, tap or swipe card"), ("enter_pin", "Enter PIN"), ("processing", "Please wait"))


@dataclass(frozen=True, slots=True)
class SimulatedCard:
    """The card the simulated customer presents. Only ``pan[-4:]`` ever leaves the simulator."""

    pan: str = "4571736281954727"
    brand: str = "VISA"


@dataclass(slots=True)
class SimulatedPayment:
    request: Pay | Refund
    outcome: str
    state: str = IN_PROGRESS  # then approved, declined or cancelled
    auth_code: str = ""
    conn: socket.socket | None = field(default=None, repr=False)


_NONE = SimulatedPayment(Pay("00000000-0000-4000-8000-000000000000", 1, "EUR"), "decline", "none")


class TerminalSimulator(LoopbackDevice):
    """The terminal at ``127.0.0.1:port``; ``step_delay`` seconds between prompts (0 for tests).

    ``stop()`` switches it off (it remembers its intents); ``start()`` switches it on again.
    """

    thread_name = "terminal-sim"

    def __init__(
        self,
        script: Iterable[str] = (),
        *,
        port: int = 0,
        default: str = "approve",
        step_delay: float = 0.0,
        card: SimulatedCard = SimulatedCard(),
    ) -> None:
        self._cond = threading.Condition()
        self.script: deque[str] = deque()
        self.add_script(default, *script)
        self.default = self.script.popleft()
        self.step_delay, self.card = step_delay, card
        self.mute = False
        """Accept connections but never answer, as a frozen terminal."""
        self.payments: dict[str, SimulatedPayment] = {}
        self.requests: list[Request] = []
        self._sent = bytearray()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._conns: dict[socket.socket, bytearray] = {}
        super().__init__(port)
        self.start()

    def add_script(self, *outcomes: str) -> None:
        """Queue outcomes for the next payments, in order.

        Raises:
            ValueError: an outcome is not one of ``OUTCOMES``.
        """
        for outcome in outcomes:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
        with self._cond:
            self.script.extend(outcomes)

    # -- what tests look at --------------------------------------------------------------------
    def state_of(self, intent_id: str) -> str | None:
        with self._cond:
            payment = self.payments.get(intent_id)
            return payment.state if payment else None

    def pay_requests(self, intent_id: str) -> int:
        """How many ``pay``/``refund`` requests named ``intent_id`` (a charge happens at most once)."""
        with self._cond:
            return sum(1 for r in self.requests if isinstance(r, Pay | Refund) and r.intent_id == intent_id)

    def sent_bytes(self) -> bytes:
        """Every byte the terminal wrote, to check no card data ever left it."""
        with self._cond:
            return bytes(self._sent)

    def wait_for_state(self, intent_id: str, state: str, timeout: float = 5.0) -> None:
        """Raises ``TimeoutError`` if ``intent_id`` is not in ``state`` within ``timeout``."""
        self._wait(lambda: self.state_of(intent_id) == state, timeout, f"intent {intent_id} never became {state}")

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Every request so far, once at least ``count`` arrived."""
        self._wait(lambda: len(self.requests) >= count, timeout, f"fewer than {count} requests")
        with self._cond:
            return list(self.requests)

    def _wait(self, done: Callable[[], bool], timeout: float, problem: str) -> None:
        with self._cond:
            if not self._cond.wait_for(done, timeout):
                raise TimeoutError(f"terminal simulator: {problem}")

    # -- the selector thread -------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._listener is not None
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping:
                self._run_due_timers()
                wait = max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None
                for key, _ in sel.select(wait):
                    if key.data == "wake":
                        self._wake_r.recv(64)
                    elif key.data == "accept":
                        self._accept(sel)
                    else:
                        self._read(sel, key.fileobj)  # type: ignore[arg-type]
        finally:
            for conn in list(self._conns):
                self._drop(sel, conn, hung_up=False)
            sel.close()
            self._listener.close()
            self._listener = None

    def _accept(self, sel: selectors.BaseSelector) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        self._conns[conn] = bytearray()
        conn.setblocking(False)
        sel.register(conn, selectors.EVENT_READ, "conn")

    def _read(self, sel: selectors.BaseSelector, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(sel, conn, hung_up=True)
            return
        if self.mute:
            return
        buffer = self._conns[conn]
        buffer += chunk
        try:
            lines = take_lines(buffer)
        except ProtocolError as exc:
            self._reply(conn, Error(None, str(exc)), close=True)
            return
        for line in lines:
            self._handle(conn, line)

    def _drop(self, sel: selectors.BaseSelector, conn: socket.socket, *, hung_up: bool) -> None:
        """Forget a connection; a ``late`` payment whose register hung up is approved now."""
        if conn not in self._conns:
            return
        sel.unregister(conn)
        conn.close()
        del self._conns[conn]
        for intent_id, payment in self.payments.items():
            if payment.conn is conn:
                payment.conn = None
                if hung_up and payment.outcome == "late" and payment.state == IN_PROGRESS:
                    self._finish(intent_id, "approved")

    def _handle(self, conn: socket.socket, line: bytes) -> None:
        try:
            request = decode_request(line)
        except UnsupportedVersion:
            self._reply(conn, Error(None, "unsupported protocol version"), close=True)
            return
        except ProtocolError as exc:
            self._reply(conn, Error(None, f"unreadable request: {exc}"), close=True)
            return
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
        log.info("terminal simulator: %s %s", request.TYPE, request.intent_id)
        if isinstance(request, Pay | Refund):
            self._start_payment(conn, request)
        elif isinstance(request, Cancel):
            payment = self.payments.get(request.intent_id)
            if payment is not None and payment.state == IN_PROGRESS:
                self._finish(request.intent_id, "cancelled")
            self._reply(conn, self._state_reply(request.intent_id), close=True)
        else:
            self._reply(conn, self._state_reply(request.intent_id), close=True)

    def _state_reply(self, intent_id: str) -> Reply:
        payment = self.payments.get(intent_id)
        if payment is None:
            return UnknownIntent(intent_id)
        if payment.state == "approved":
            return Approved(intent_id, payment.auth_code, self.card.brand, self.card.pan[-4:])
        if payment.state == "declined":
            return Declined(intent_id, "Not authorised")
        if payment.state == "cancelled":
            return Cancelled(intent_id)
        return Accepted(intent_id)

    def _start_payment(self, conn: socket.socket, request: Pay | Refund) -> None:
        intent_id = request.intent_id
        if intent_id in self.payments:  # a repeat is answered, never charged again
            self._reply(conn, self._state_reply(intent_id), close=True)
            return
        if any(p.state == IN_PROGRESS for p in self.payments.values()):
            self._reply(conn, Busy(intent_id), close=True)
            return
        original = request.original_intent_id if isinstance(request, Refund) else None
        with self._cond:
            outcome = self.script.popleft() if self.script else self.default
            if original is not None and self.payments.get(original, _NONE).state != "approved":
                outcome = "decline"  # a refund of a payment this terminal never approved
            self.payments[intent_id] = SimulatedPayment(request, outcome, conn=conn)
            self._cond.notify_all()
        self._reply(conn, Accepted(intent_id))
        prompts = _PROMPTS[:1] if outcome in ("timeout", "disconnect") else _PROMPTS
        for step, (code, text) in enumerate(prompts, start=1):
            self._later(step, intent_id, functools.partial(self._prompt, intent_id, code, text))
        after = len(prompts) + 1
        if outcome in ("approve", "decline"):
            self._later(after, intent_id, lambda: self._finish(intent_id, outcome + "d"))
        elif outcome == "disconnect":
            self._later(after, intent_id, lambda: self._finish(intent_id, "approved", tell=False))

    def _later(self, step: int, intent_id: str, action: Callable[[], None]) -> None:
        """Run ``action`` ``step`` delays from now, unless the payment ended in between."""

        def guarded() -> None:
            if self.state_of(intent_id) == IN_PROGRESS:
                action()

        heapq.heappush(self._timers, (time.monotonic() + step * self.step_delay, next(self._order), guarded))

    def _run_due_timers(self) -> None:
        while self._timers and self._timers[0][0] <= time.monotonic():
            heapq.heappop(self._timers)[2]()

    def _prompt(self, intent_id: str, code: str, text: str) -> None:
        conn = self.payments[intent_id].conn
        if conn is not None:
            self._reply(conn, Prompt(intent_id, code, text))

    def _finish(self, intent_id: str, state: str, *, tell: bool = True) -> None:
        """End a payment; its connection gets the answer (unless ``tell`` is False) and is closed."""
        with self._cond:
            payment = self.payments[intent_id]
            payment.state = state
            if state == "approved":
                payment.auth_code = f"SA{len(self.payments):04d}"
            self._cond.notify_all()
        log.info("terminal simulator: %s %s", intent_id, state)
        conn, payment.conn = payment.conn, None
        if conn is not None and conn in self._conns:
            if tell:
                self._reply(conn, self._state_reply(intent_id))
            _shutdown(conn, socket.SHUT_RDWR)  # the selector sees the end and forgets it

    def _reply(self, conn: socket.socket, reply: Reply, *, close: bool = False) -> None:
        data = encode(reply)
        try:
            conn.sendall(data)  # a few dozen bytes: never blocks on a fresh socket
        except OSError:
            log.debug("terminal simulator: %s lost", reply.TYPE)
            return
        with self._cond:
            self._sent += data
        if close:
            _shutdown(conn, socket.SHUT_WR)  # the register reads the end, then closes


def _shutdown(conn: socket.socket, how: int) -> None:
    try:
        conn.shutdown(how)
    except OSError:  # the register hung up first
        log.debug("terminal simulator: connection already gone")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A card terminal simulator speaking protocol v1 on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    parser.add_argument("--script", default="", help=f"comma-separated outcomes: {', '.join(OUTCOMES)}")
    parser.add_argument("--default", default="approve", choices=OUTCOMES, help="outcome once the script is used up")
    parser.add_argument("--step-delay", type=float, default=0.8, help="seconds between the customer's steps")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    script = [s.strip() for s in args.script.split(",") if s.strip()]
    try:
        sim = TerminalSimulator(script, port=args.port, default=args.default, step_delay=args.step_delay)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"card terminal simulator listening on 127.0.0.1:{sim.port} (target tcp:127.0.0.1:{sim.port})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()


if __name__ == "__main__":
    main()
