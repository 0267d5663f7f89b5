"""``LaneController``: starts the lane's work on the loop thread and reports back through the bridge.

Called from the GUI thread only; every method returns at once.
"""

from __future__ import annotations

import asyncio
import logging

from pos_core.sale import Sale
from pos_desktop.app.bridge import LaneBridge
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.payment_presenter import OverrideRequest
from pos_desktop.lane.client import RegisterClient
from pos_desktop.lane.errors import CredentialRefused, LaneError, LoginRefused, RequestRefused

logger = logging.getLogger(__name__)

RECONNECT_DELAYS = (1.0, 2.0, 5.0, 10.0)
"""Seconds between attempts to get back to the server after a drop; the last repeats."""
CATALOGUE_CHECK_S = 10.0
"""How often the lane asks the store what changed in its catalogue (prices, products withdrawn)."""


class LaneController:
    """Owns the store server client; its work runs on ``loop``. Devices are the ``DeviceController``'s."""

    def __init__(
        self,
        bridge: LaneBridge,
        loop: LoopThread,
        url: str,
        token: str,
        *,
        catalogue_check_s: float = CATALOGUE_CHECK_S,
    ) -> None:
        self.bridge = bridge
        self._loop = loop
        self.client = RegisterClient(url, token, on_connection_lost=self._lost)
        self._reconnecting: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None
        self._catalogue_check_s = catalogue_check_s
        self._closing = False

    def start(self) -> None:
        """Connect, load the catalogue and the cashiers."""
        self._loop.submit(self._start())

    def log_in(self, cashier_id: str, pin: str) -> None:
        self._loop.submit(self._log_in(cashier_id, pin))

    def log_out(self) -> None:
        self.client.logout()

    def authorise_override(self, request: OverrideRequest) -> None:
        """Ask the store server to check a manager's PIN for ``request`` (``override_authorised``/``_refused``)."""
        self._loop.submit(self._authorise(request))

    def commit_sale(self, sale: Sale) -> None:
        """Submit ``sale``; ``sale_committed`` says when the server has it (then the receipt prints)."""
        self._loop.submit(self._commit(sale))

    def shutdown(self) -> None:
        """Close the connection; blocks briefly."""
        self._closing = True
        try:
            self._loop.submit(self.client.close()).result(timeout=5)
        except Exception:  # shutting down: nothing useful to do with a failure here
            logger.debug("closing the connection failed", exc_info=True)

    async def _start(self) -> None:
        try:
            welcome = await self.client.connect()
            self.bridge.connected.emit(welcome)
            catalogue = await self.client.fetch_catalogue()
            cashiers = await self.client.cashiers()
        except LaneError as exc:
            self.bridge.connection_failed.emit(str(exc))
            return
        self.bridge.catalogue_loaded.emit(welcome, catalogue)
        self.bridge.cashiers_loaded.emit(cashiers)
        if self._following is None:
            self._following = asyncio.get_running_loop().create_task(self._follow_catalogue())

    async def _follow_catalogue(self) -> None:
        """Every ``catalogue_check_s``, ask what changed in the store's catalogue and hand it to
        the GUI; offline, ask again next time; a server that cannot tell ends it."""
        while not self._closing:
            await asyncio.sleep(self._catalogue_check_s)
            try:
                changes = await self.client.catalogue_changes()
                if changes is None:
                    return
                if changes.reload:
                    self.bridge.catalogue_replaced.emit(await self.client.fetch_catalogue())
                elif changes.products or changes.removed:
                    self.bridge.catalogue_changed.emit(changes.products, changes.removed)
                    logger.info("catalogue changed: %d products, %d withdrawn", len(changes.products),
                                len(changes.removed))  # fmt: skip
            except LaneError:  # offline or refused for now: the reconnect loop deals with the connection
                logger.debug("could not ask for catalogue changes; asking again later", exc_info=True)

    async def _reload_cashiers(self) -> None:
        """Read the store's cashiers again for the login screen: a login refused after a
        reconnect usually means one was deactivated meanwhile, and must not be offered."""
        try:
            cashiers = await self.client.cashiers()
        except LaneError:
            logger.info("could not read the cashiers again; the login screen keeps its list", exc_info=True)
            return
        self.bridge.cashiers_loaded.emit(cashiers)

    async def _log_in(self, cashier_id: str, pin: str) -> None:
        try:
            cashier = await self.client.login(cashier_id, pin)
        except LaneError as exc:
            self.bridge.login_failed.emit(str(exc))
            return
        self.bridge.login_succeeded.emit(cashier)

    async def _authorise(self, request: OverrideRequest) -> None:
        try:
            done = await self.client.authorise_override(request.manager_id, request.pin, request.action,
                                                        request.subject)  # fmt: skip
        except LaneError as exc:
            self.bridge.override_refused.emit(str(exc))
            return
        self.bridge.override_authorised.emit(done)

    async def _commit(self, sale: Sale) -> None:
        was_connected = self.client.is_connected
        try:
            acceptance = await self.client.submit_sale(sale)
        except LoginRefused as exc:  # the cashier could not log in again: the outcome is still unknown
            self.bridge.sale_failed.emit(sale, str(exc))
            self.bridge.connected.emit(self.client.welcome)
            await self._reload_cashiers()
            self.bridge.relogin_refused.emit(str(exc))
            return
        except RequestRefused as exc:
            self.bridge.sale_refused.emit(sale, exc.code, str(exc))
            return
        except LaneError as exc:  # no answer: the server may or may not have it
            self.bridge.sale_failed.emit(sale, str(exc))
            return
        if not was_connected:
            self.bridge.connected.emit(self.client.welcome)
        self.bridge.sale_committed.emit(sale, acceptance)

    def _lost(self, reason: str) -> None:
        if self._closing:
            return
        self.bridge.connection_lost.emit(reason)
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closing and not self.client.is_connected:
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            attempt += 1
            try:
                await self.client.reconnect()
            except CredentialRefused as exc:
                self.bridge.connection_lost.emit(str(exc))
                return
            except LoginRefused as exc:
                self.bridge.connected.emit(self.client.welcome)
                await self._reload_cashiers()
                self.bridge.relogin_refused.emit(str(exc))
                return
            except LaneError:
                logger.info("store server still unreachable (attempt %d)", attempt)
                continue
            self.bridge.connected.emit(self.client.welcome)
