"""``RegisterClient``: a register's websocket connection to the store server (docs/protocol.md).

One reader task per connection resolves each request's future by its ``req``; every
library exception becomes a ``LaneError`` with a sentence at this boundary.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from pos_core.catalogue import Catalogue
from pos_core.protocol import REGISTER_PATH, ProtocolError, decode, encode
from pos_core.sale import Sale
from pos_desktop.lane.errors import (
    UNSURE_CODES,
    CredentialRefused,
    LaneError,
    LoginRefused,
    OutcomeUnknown,
    RequestRefused,
    ServerUnreachable,
)
from pos_desktop.lane.wire import (
    Acceptance,
    Cashier,
    CatalogueChanges,
    Welcome,
    parse_acceptance,
    parse_cashier,
    parse_cashiers,
    parse_catalogue_changes,
    parse_products,
    parse_welcome,
)

logger = logging.getLogger(__name__)

SETTLE_PAID, SETTLE_UNPAID, UNLOCK = "card.settle_paid", "card.settle_unpaid", "cashier.unlock"
"""The overrides a manager authorises (``override.authorise``, docs/protocol.md)."""
MAX_INCOMING_BYTES = 16 * 1024 * 1024
"""A catalogue page of 1,000 products is a few hundred KiB; leave generous room."""
CATALOGUE_PAGE_SIZE = 1000


def register_url(url: str) -> str:
    """``ws://host:port`` as discovery reports it, with the ``/register`` path added when missing."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=REGISTER_PATH)
    return urlunsplit(parts)


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A manager authorised an override, and the store logged it."""

    override_id: str
    action: str
    subject: str
    manager: Cashier
    was_locked: bool | None
    """For ``cashier.unlock``: whether the cashier was locked out."""


class RegisterClient:
    """A register's session with the store server.

    Args:
        url: ``ws://host:port`` (``/register`` is added) or the full endpoint URL.
        token: the register's device credential, sent as a bearer token.
        request_timeout: seconds to wait for any one reply.
        on_connection_lost: called (on the loop) with a sentence when an open connection drops.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_timeout: float = 15.0,
        on_connection_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.url = register_url(url)
        self._token = token
        self._timeout = request_timeout
        self._on_lost = on_connection_lost
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._req_ids = itertools.count(1)
        self._welcome: Welcome | None = None
        # Kept so a dropped connection can log the same cashier in again before resubmitting a sale.
        self._login: tuple[str, str] | None = None
        self._reconnect_lock = asyncio.Lock()
        self.catalogue_mark: tuple[str, int] | None = None
        """The feed epoch and seq the catalogue was read at (``catalogue_changes`` asks after
        it); None before it was read, or from a server that cannot tell changes."""

    @property
    def welcome(self) -> Welcome:
        if self._welcome is None:
            raise LaneError("Not connected to the store server yet.")
        return self._welcome

    @property
    def is_connected(self) -> bool:
        return self._ws is not None

    async def connect(self) -> Welcome:
        """Open the connection and read the welcome (store and tax classes).

        Raises:
            CredentialRefused: the server answered 401 or 403.
            ServerUnreachable: nothing answers at the URL, or it is not a store server.
        """
        await self.close()
        unreachable = f"Cannot reach the store server at {self.url}."
        try:
            ws = await connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                max_size=MAX_INCOMING_BYTES,
                open_timeout=self._timeout,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise CredentialRefused(
                    "This register's credential was refused by the store server; pair it again or check the token."
                ) from None
            raise ServerUnreachable(f"{unreachable} It answered HTTP {status}; check the address.") from None
        except InvalidURI:
            raise LaneError(f"{self.url} is not a store server address; it looks like ws://host:8765.") from None
        except (OSError, TimeoutError, WebSocketException):
            raise ServerUnreachable(unreachable) from None
        try:
            first = await asyncio.wait_for(ws.recv(), self._timeout)
            welcome = parse_welcome(decode(first))
        except (ConnectionClosed, TimeoutError, ProtocolError):
            await ws.close()
            raise ServerUnreachable(f"{unreachable} It did not greet this register.") from None
        except LaneError:
            await ws.close()
            raise
        self._ws = ws
        self._welcome = welcome
        self._reader = asyncio.create_task(self._read(ws), name="register-client-reader")
        logger.info("connected to %s (store %s)", self.url, welcome.store.id)
        return welcome

    async def reconnect(self) -> Welcome:
        """Connect again if the connection is down, and log the last cashier in again.

        Raises:
            CredentialRefused, ServerUnreachable: as for ``connect``.
            LoginRefused: the cashier's login is no longer accepted; the connection is up.
        """
        async with self._reconnect_lock:
            if self._ws is None:
                await self.connect()
                if self._login is not None:
                    try:
                        await self.login(*self._login)
                    except RequestRefused as exc:
                        self._login = None  # connected, but nobody is logged in any more
                        raise LoginRefused(exc.code, str(exc)) from None
        return self.welcome

    async def close(self) -> None:
        """Close the connection, if open; pending requests fail with ``ServerUnreachable``."""
        ws, reader = self._ws, self._reader
        self._ws = self._reader = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            await reader

    async def fetch_catalogue(self, page_size: int = CATALOGUE_PAGE_SIZE) -> Catalogue:
        """Every product, read page by page; notes where the store's log stood before the first
        page, so ``catalogue_changes`` can tell what changed since."""
        mark: tuple[str, int] | None = None
        try:
            marked = parse_catalogue_changes(await self._request({"type": "catalogue.changes", "after": None}))
            mark = (marked.epoch, marked.next)
        except RequestRefused as exc:
            if exc.code != "unknown_type":
                raise
            # A server before catalogue.changes: the catalogue is read once.
        catalogue = Catalogue()
        after: str | None = ""
        while after is not None:
            reply = await self._request({"type": "catalogue.page", "after": after, "limit": page_size})
            products, after = parse_products(reply)
            for product in products:
                catalogue.add(product)
        self.catalogue_mark = mark  # only once every page is in: a read cut short is read again
        return catalogue

    async def catalogue_changes(self) -> CatalogueChanges | None:
        """The products changed since the catalogue was read (or last asked), and moves the mark
        on; None when the server cannot tell changes (then the catalogue stays as read).

        Raises:
            ServerUnreachable: not connected; ask again later.
        """
        if self.catalogue_mark is None:
            return None
        epoch, after = self.catalogue_mark
        changes = parse_catalogue_changes(
            await self._request({"type": "catalogue.changes", "after": after, "epoch": epoch})
        )
        if not changes.reload:
            self.catalogue_mark = (changes.epoch, changes.next)
        return changes

    async def cashiers(self) -> list[Cashier]:
        """The store's active cashiers, by name."""
        return parse_cashiers(await self._request({"type": "cashiers.list"}))

    async def lane_config(self, lane: str) -> tuple[dict[str, Any], int] | None:
        """The device settings the store keeps for ``lane`` (a ``lane.json`` object) and their
        version, or None when it keeps none.

        Raises:
            LaneError: the reply is not lane settings.
            RequestRefused: the server refused the request (its sentence).
        """
        reply = await self._request({"type": "lane.config", "lane": lane})
        config, version = reply.get("config"), reply.get("version")
        if config is None:
            return None
        if not isinstance(config, dict) or type(version) is not int:
            raise LaneError("The store server sent lane settings this register cannot read; update the register.")
        return config, version

    async def login(self, cashier_id: str, pin: str) -> Cashier:
        """Log a cashier in on this connection.

        Raises:
            RequestRefused: ``wrong_pin`` or ``unknown_cashier``, with the server's sentence.
        """
        reply = await self._request({"type": "cashier.login", "cashier_id": cashier_id, "pin": pin})
        self._login = (cashier_id, pin)
        return parse_cashier(reply.get("cashier"))

    async def authorise_override(self, manager_id: str, pin: str, action: str, subject: str) -> Authorisation:
        """Ask the store to log an override a manager authorises with their PIN (never kept here).

        Args:
            action: ``card.settle_paid``, ``card.settle_unpaid`` or ``cashier.unlock``.
            subject: the card payment's id, or the cashier to unlock.

        Raises:
            RequestRefused: ``not_authorised``, ``wrong_pin``, ``cashier_locked``, ... with the server's sentence.
            ServerUnreachable: no answer; ask again.
        """
        message = {"type": "override.authorise", "action": action, "subject": subject, "manager_id": manager_id,
                   "pin": pin}  # fmt: skip
        reply = await self._request(message)
        was_locked = reply.get("was_locked")
        return Authorisation(
            str(reply.get("override_id")),
            str(reply.get("action")),
            str(reply.get("subject")),
            parse_cashier(reply.get("manager")),
            was_locked if isinstance(was_locked, bool) else None,
        )

    def logout(self) -> None:
        """Forget the cashier, so a reconnect does not log them in again."""
        self._login = None

    async def submit_sale(self, sale: Sale) -> Acceptance:
        """Send a sale and wait for the server's acceptance.

        If the connection is down or drops, reconnect, log the same cashier in and send the
        same sale once more: the server keys sales by id, so a repeat is never counted twice.

        Raises:
            ServerUnreachable: the server cannot be reached even after reconnecting; the sale
                may have been recorded by an attempt whose reply was lost.
            LoginRefused: the cashier could not be logged in again after a reconnect; ditto.
            OutcomeUnknown: the resend was refused for a reason that says nothing about the first attempt.
            RequestRefused: the server refused the sale (its sentence and ``code`` say why).
        """
        message = {"type": "sale.submit", "sale": sale.to_wire()}
        try:
            return parse_acceptance(await self._request(message))
        except ServerUnreachable:
            if self._login is None:
                raise
            logger.info("resubmitting sale %s after a reconnect", sale.id)
        await self.reconnect()
        try:
            return parse_acceptance(await self._request(message))
        except RequestRefused as exc:
            if exc.code in UNSURE_CODES:
                # The first attempt may have been recorded; this refusal says nothing about it.
                raise OutcomeUnknown(str(exc)) from None
            raise

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise ServerUnreachable(f"Not connected to the store server at {self.url}.")
        req = str(next(self._req_ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req] = future
        try:
            await ws.send(encode({**message, "req": req}))
            reply = await asyncio.wait_for(future, self._timeout)
        except ConnectionClosed:
            raise ServerUnreachable(f"The connection to the store server at {self.url} dropped.") from None
        except TimeoutError:
            raise ServerUnreachable(f"The store server did not answer within {self._timeout:g} seconds.") from None
        finally:
            self._pending.pop(req, None)
        if reply.get("type") == "error":
            raise RequestRefused(str(reply.get("code")), str(reply.get("message")))
        return reply

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                try:
                    message = decode(frame)
                except ProtocolError:
                    logger.warning("ignoring an undecodable frame from the store server")
                    continue
                future = self._pending.get(str(message.get("req")))
                if future is not None and not future.done():
                    future.set_result(message)
        except ConnectionClosed:
            pass
        finally:
            dropped = self._ws is ws  # False when close() was asked for
            if dropped:
                self._ws = None
                self._reader = None
            reason = f"The connection to the store server at {self.url} dropped."
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ServerUnreachable(reason))
            if dropped:
                logger.warning("connection to %s lost", self.url)
                if self._on_lost is not None:
                    self._on_lost(reason)
