"""The ``/register`` endpoint: decode a request, call a use case, encode the reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pos_core.errors import InvalidSale
from pos_core.protocol import (
    BAD_MESSAGE,
    CASHIER_LOCKED,
    INTERNAL,
    INVALID_SALE,
    NOT_LOGGED_IN,
    PROTOCOL_VERSION,
    UNKNOWN_TYPE,
    WRONG_CASHIER,
    ProtocolError,
    decode,
    encode,
    error_reply,
    field_int,
    field_str,
)
from pos_core.sale import Sale
from store_server.access import peer_of
from store_server.db.engine import Database
from store_server.errors import RequestRefused, WrongPin
from store_server.feed_protocol import MAX_EPOCH_LEN
from store_server.register_lanes import lane_config_fields
from store_server.register_overrides import override_fields
from store_server.usecases.cashiers import CashierInfo, is_deactivated, list_cashiers, pin_hash_of, pin_matches
from store_server.usecases.catalogue import catalogue_changes, catalogue_page
from store_server.usecases.login_guard import CONNECTION_FAILURES, LOCKOUT_S, LoginGuard, guard_for
from store_server.usecases.sales import canonical_sale, hash_of, submit_sale
from store_server.usecases.store import StoreInfo, load_store

log = logging.getLogger(__name__)

MAX_PAGE = 1000
DEFAULT_PAGE = 500


def welcome(store: StoreInfo) -> dict[str, Any]:
    return {
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "store": store.to_wire(),
        "tax_classes": [{"code": t.code, "name": t.name, "rate_ppm": t.rate_ppm} for t in store.tax_classes],
    }


@dataclass(slots=True)
class RegisterSession:
    """One register connection: who is logged in on it."""

    db: Database
    peer: str
    cashier: CashierInfo | None = None
    guard: LoginGuard = field(default_factory=LoginGuard)
    failures: int = 0
    """Wrong PINs in a row on this connection."""
    closing: str | None = None
    """Set to the reason when the connection must close with 1008 after this reply (too many
    wrong PINs on it, its cashier deactivated)."""
    busy: bool = False
    """A request of this connection is being answered."""

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 - a reply per request type
        """The reply to one decoded request.

        Raises:
            ProtocolError, RequestRefused: the request cannot be acted on.
        """
        kind = message["type"]
        req = message.get("req")
        if kind == "catalogue.page":
            after = message.get("after", "")
            if not isinstance(after, str) or len(after) > 200:
                raise ProtocolError(BAD_MESSAGE, "'after' must be a SKU or an empty string.", req)
            limit = field_int(message, "limit", default=DEFAULT_PAGE, low=1, high=MAX_PAGE)
            page = await self.db.run_reader(self._read, catalogue_page, after, limit)
            return {"type": kind, "req": req, "products": page.products, "next": page.next}
        if kind == "cashiers.list":
            cashiers = await self.db.run_reader(self._read, list_cashiers)
            return {
                "type": kind,
                "req": req,
                "cashiers": [{"id": c.id, "name": c.name, "role": c.role} for c in cashiers],
            }
        if kind == "cashier.login":
            cashier_id = field_str(message, "cashier_id")
            pin = field_str(message, "pin", max_len=20)
            self.cashier = None
            cashier = await self._login(cashier_id, pin, req)
            self.cashier = cashier
            log.info("cashier logged in peer=%s cashier=%s", self.peer, cashier.id)
            return {"type": kind, "req": req, "cashier": {"id": cashier.id, "name": cashier.name}}
        if kind == "sale.submit":
            if self.cashier is None:
                raise ProtocolError(NOT_LOGGED_IN, "Log a cashier in on this connection before sending sales.", req)
            try:
                sale = Sale.from_wire(message.get("sale"))
            except InvalidSale as exc:
                raise ProtocolError(INVALID_SALE, str(exc), req) from None
            if sale.cashier_id != self.cashier.id:
                await self._check_maker(sale, req)
            # The fingerprint and the event's payload are made here, outside the database
            # thread, which is the bottleneck.
            canonical = canonical_sale(sale)
            accepted = await self.db.run_write(submit_sale, sale, hash_of(canonical), None, canonical)
            log.info(
                "sale accepted peer=%s sale=%s seq=%s duplicate=%s",
                self.peer,
                sale.id,
                accepted.seq,
                accepted.duplicate,
            )
            return {
                "type": "sale.accepted",
                "req": req,
                "sale_id": accepted.sale_id,
                "seq": accepted.seq,
                "duplicate": accepted.duplicate,
            }
        if kind == "lane.config":
            return {"type": kind, "req": req, **await lane_config_fields(self.db, message, self.peer)}
        if kind == "override.authorise":
            return {"type": kind, "req": req, **await override_fields(self, message, req)}
        if kind == "catalogue.changes":
            return {"type": kind, "req": req, **await self._catalogue_changes(message, req)}
        raise ProtocolError(UNKNOWN_TYPE, f"This server does not know {kind!r} on /register.", req)

    async def _catalogue_changes(self, message: dict[str, Any], req: str | None) -> dict[str, Any]:
        """``catalogue.changes``: the products changed since the register read them (docs/protocol.md)."""
        after = message.get("after")
        if after is not None and (type(after) is not int or after < 0):
            raise ProtocolError(BAD_MESSAGE, "'after' must be a feed seq (0 or more) or null.", req)
        epoch = message.get("epoch")
        if epoch is not None and (not isinstance(epoch, str) or not 0 < len(epoch) <= MAX_EPOCH_LEN):
            raise ProtocolError(BAD_MESSAGE, f"'epoch' must be 1 to {MAX_EPOCH_LEN} characters, or null.", req)
        changes = await self.db.run_reader(self._read, catalogue_changes, after, epoch)
        return {
            "products": changes.products,
            "removed": changes.removed,
            "next": changes.next,
            "epoch": changes.epoch,
            "reload": changes.reload,
        }

    async def _check_maker(self, sale: Sale, req: str | None) -> None:
        """A sale made by another cashier than the one logged in is taken only if its cashier was
        deactivated since: then it can never be sent under their own login, and it is a sale the
        till already made (one in doubt, sent again by the next cashier).

        Raises:
            ProtocolError: ``wrong_cashier``; its cashier can log in and send it.
        """
        assert self.cashier is not None
        if await self.db.run_reader(self._read, is_deactivated, sale.cashier_id):
            log.warning(
                "sale of a deactivated cashier taken from the cashier logged in peer=%s sale=%s sale_cashier=%s "
                "logged_in=%s",
                self.peer,
                sale.id,
                sale.cashier_id,
                self.cashier.id,
            )
            return
        log.warning(
            "sale refused: cashier mismatch peer=%s sale=%s sale_cashier=%s logged_in=%s",
            self.peer,
            sale.id,
            sale.cashier_id,
            self.cashier.id,
        )
        raise ProtocolError(
            WRONG_CASHIER,
            f"This sale was made by another cashier than {self.cashier.name}, who is logged in here; "
            "log its cashier in and send it again.",
            req,
        )

    async def _login(self, cashier_id: str, pin: str, req: str | None) -> CashierInfo:
        """Check a PIN with the guard's delay and lockout; scrypt runs on a worker thread,
        never on the database's (sales would wait behind guesses)."""
        found: tuple[CashierInfo, str] = await self.db.run_reader(self._read, pin_hash_of, cashier_id)
        cashier, stored = found
        if self.guard.locked(cashier.id):
            log.warning("login refused, cashier locked peer=%s cashier=%s", self.peer, cashier.id)
            raise ProtocolError(
                CASHIER_LOCKED,
                f"Too many wrong PINs for {cashier.name}; a manager must unlock them, "
                f"or they can try again after {LOCKOUT_S / 60:g} minutes.",
                req,
            )
        delay = self.guard.delay(cashier.id, self.failures)
        if delay > 0:
            await self.guard.sleep(delay)
        if await asyncio.to_thread(pin_matches, pin, stored):
            self.guard.succeeded(cashier.id)
            self.failures = 0
            return cashier
        self.failures += 1
        locked = self.guard.failed(cashier.id, self.peer)
        if self.failures >= CONNECTION_FAILURES:
            self.closing = "too many wrong PINs"
        if locked:
            raise ProtocolError(
                CASHIER_LOCKED,
                f"Too many wrong PINs for {cashier.name}; a manager must unlock them, "
                f"or they can try again after {LOCKOUT_S / 60:g} minutes.",
                req,
            )
        raise WrongPin("That PIN is wrong; try again.")

    def _read(self, fn: Any, *args: Any) -> Any:
        with self.db.read() as session:
            return fn(session, *args)


async def serve_register(
    connection: ServerConnection,
    db: Database,
    on_commit: Callable[[], None],
    *,
    guard: LoginGuard | None = None,
    sessions: MutableMapping[ServerConnection, RegisterSession] | None = None,
) -> None:
    """Talk to one register until it goes away.

    ``on_commit`` is called after every sale that changed the feed, to wake consumers.
    ``guard`` limits PIN guessing (default: the one shared guard of ``db``). After
    ``CONNECTION_FAILURES`` wrong PINs in a row the connection is closed (1008).
    ``sessions`` holds this connection's session while it lasts (who is logged in on it).
    """
    peer = peer_of(connection.remote_address)
    session = RegisterSession(db, peer, guard=guard or guard_for(db))
    if sessions is not None:
        sessions[connection] = session
    try:
        # The store as it is now, not as the server started: a tax class added since (`pos
        # products add-tax-class`) reaches every register that connects from then on.
        current = await db.run_reader(_current_store, db)
        await connection.send(encode(welcome(current)))
        async for frame in connection:
            session.busy = True
            try:
                reply = await _reply(session, frame)
            finally:
                session.busy = False
            if reply.get("type") == "sale.accepted" and not reply["duplicate"]:
                on_commit()
            await connection.send(encode(reply))
            if session.closing is not None:
                log.warning("closing register connection peer=%s: %s", peer, session.closing)
                await connection.close(1008, session.closing)
                break
    except ConnectionClosed:
        pass
    finally:
        if sessions is not None:
            sessions.pop(connection, None)
    log.info("register disconnected peer=%s", peer)


async def _reply(session: RegisterSession, frame: str | bytes) -> dict[str, Any]:
    req: str | None = None
    try:
        message = decode(frame)
        req = message.get("req")
        return await session.handle(message)
    except ProtocolError as exc:
        return error_reply(exc.code, str(exc), exc.req)
    except RequestRefused as exc:
        return error_reply(exc.code, str(exc), req)
    except Exception:
        log.exception("request failed peer=%s", session.peer)
        return error_reply(INTERNAL, "The store server failed; send the same request again.", req)


def _current_store(db: Database) -> StoreInfo:
    with db.read() as session:
        return load_store(session)
