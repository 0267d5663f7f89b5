"""One TCP connection to a card terminal, carrying one request and its replies.

Every request opens its own connection (the terminal closes it after its final reply), so a
terminal that restarted or a cable that was pulled needs no reconnect logic, and a cancel can
reach the terminal while a payment's connection is still waiting. All waits are bounded.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from peripherals.errors import DeviceUnavailable
from peripherals.payment.protocol import (
    Accepted,
    Prompt,
    ProtocolError,
    Reply,
    Request,
    decode_reply,
    encode,
    take_lines,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TerminalTimeouts:
    """Seconds to wait; every wait of the terminal client is bounded by one of these."""

    connect: float = 3.0
    answer: float = 5.0
    """From sending a request to the terminal's first reply (``accepted``, or a status answer)."""
    payment: float = 150.0
    """A whole payment or refund, the customer's card and PIN included."""


class TerminalLink:
    """A connected socket that sends requests and yields decoded replies; use it as a context manager."""

    def __init__(self, sock: socket.socket, where: str) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._lines: list[bytes] = []
        self.where = where

    @classmethod
    def connect(cls, host: str, port: int, timeout: float, name: str) -> TerminalLink:
        """Connect within ``timeout`` seconds.

        Raises:
            DeviceUnavailable: nothing answers at ``host:port``.
        """
        where = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            log.info("%s at %s: connect failed: %s", name, where, exc)
            raise DeviceUnavailable(f"The {name} at {where} does not answer; check it is on and connected.") from exc
        return cls(sock, where)

    def __enter__(self) -> TerminalLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def send(self, request: Request) -> bool:
        """Send one request; False if the connection broke (the terminal may have got part of it)."""
        try:
            self._sock.sendall(encode(request))
        except OSError as exc:
            log.info("terminal at %s: send of %s failed: %s", self.where, request.TYPE, exc)
            return False
        return True

    def receive(self, deadline: float) -> Reply | None:
        """The next readable reply, or None when the terminal closed the connection.

        Lines that are not of the protocol are skipped (and logged by size only: they might hold
        anything).

        Raises:
            TimeoutError: nothing readable arrived before ``deadline`` (``time.monotonic()``).
        """
        while True:
            while self._lines:
                line = self._lines.pop(0)
                try:
                    return decode_reply(line)
                except ProtocolError as exc:
                    log.warning(
                        "terminal at %s: skipped an unreadable line of %d bytes: %s", self.where, len(line), exc
                    )
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(self.where)
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                raise
            except OSError as exc:
                log.info("terminal at %s: connection lost: %s", self.where, exc)
                return None
            if not chunk:
                return None
            self._buffer += chunk
            try:
                self._lines += take_lines(self._buffer)
            except ProtocolError as exc:
                log.warning("terminal at %s: dropping the connection: %s", self.where, exc)
                return None


def ask(host: str, port: int, request: Request, timeouts: TerminalTimeouts, name: str) -> Reply | None:
    """Send one ``status`` or ``cancel`` on its own connection; its one reply, None if none came.

    Raises:
        DeviceUnavailable: the terminal cannot be reached.
    """
    with TerminalLink.connect(host, port, timeouts.connect, name) as link:
        if not link.send(request):
            return None
        try:
            return link.receive(time.monotonic() + timeouts.answer)
        except TimeoutError:
            log.info("%s at %s: no answer to %s", name, link.where, request.TYPE)
            return None


@dataclass(frozen=True, slots=True)
class Lost:
    """No final answer came on a payment's connection: it broke (``timed_out`` False) or went quiet."""

    detail: str
    timed_out: bool


def follow(
    link: TerminalLink, intent_id: str, timeouts: TerminalTimeouts, on_prompt: Callable[[Prompt], None] | None
) -> Reply | Lost:
    """Read a pay/refund connection until its last reply, passing prompts to ``on_prompt``.

    The terminal must answer within ``timeouts.answer`` (``accepted``, ``busy`` or ``error``) and
    finish within ``timeouts.payment``. Returns the last reply (``approved``, ``declined``,
    ``cancelled``, ``busy``, ``error``, ``unknown_intent``) or ``Lost``.
    """
    start = time.monotonic()
    first_deadline, last_deadline = start + timeouts.answer, start + timeouts.payment
    accepted = False
    while True:
        try:
            reply = link.receive(last_deadline if accepted else min(first_deadline, last_deadline))
        except TimeoutError:
            quiet = "went quiet during the payment" if accepted else "did not answer the request"
            return Lost(f"the terminal {quiet}", timed_out=True)
        if reply is None:
            return Lost("the connection broke during the payment", timed_out=False)
        if reply.intent_id not in (intent_id, None):
            log.warning("terminal at %s: ignored a %s about another intent", link.where, reply.TYPE)
        elif isinstance(reply, Accepted):
            accepted = True
            log.info("intent %s accepted by the terminal", intent_id)
        elif isinstance(reply, Prompt):
            log.info("intent %s: terminal prompt %s", intent_id, reply.code)
            if on_prompt is not None:
                try:
                    on_prompt(reply)
                except Exception:  # the screen's trouble must not lose the payment's answer
                    log.exception("prompt listener failed for intent %s", intent_id)
        else:
            return reply
