"""A revoked credential loses its open connections, and a deactivated cashier their registers,
within the server's check interval."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.protocol import State

from store_server.db.engine import open_database
from store_server.db.models import SaleRow
from store_server.register_endpoint import RegisterSession
from store_server.server import DEACTIVATED_CLOSE_CODE, REVOKED_CLOSE_CODE, StoreServer
from store_server.usecases.cashiers import deactivate_cashier
from store_server.usecases.credentials import revoke_named
from tests.server.support import feed_url, make_sale, prepare_store, register, run


def _revoke(url: str, name: str) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            revoke_named(session, name=name)
    finally:
        db.close()


def test_open_connections_of_a_revoked_credential_are_closed(sqlite_url: str) -> None:
    async def scenario() -> None:
        tokens = await asyncio.to_thread(prepare_store, sqlite_url)
        server = StoreServer(sqlite_url, credential_check_s=0.2)
        await server.start()
        try:
            headers = {"Authorization": f"Bearer {tokens.storefront}"}
            async with (
                register(server, tokens.register) as reg,
                connect(feed_url(server), additional_headers=headers) as feed,
            ):
                await feed.send(json.dumps({"type": "subscribe", "since": 0}))
                await asyncio.sleep(0.5)  # a few checks pass: both stay open while their tokens are live
                await reg.request({"type": "cashiers.list"})
                await asyncio.to_thread(_revoke, sqlite_url, "Shop")
                async with asyncio.timeout(5):
                    await feed.wait_closed()  # nothing to read: the store has sold nothing
                assert feed.close_code == REVOKED_CLOSE_CODE
                # the register's credential is still live: it keeps working
                reply = await reg.request({"type": "cashiers.list"})
                assert reply["type"] == "cashiers.list"
                await asyncio.to_thread(_revoke, sqlite_url, "Till 1")
                async with asyncio.timeout(5):
                    await reg.ws.wait_closed()
                assert reg.ws.close_code == REVOKED_CLOSE_CODE
        finally:
            await server.stop()

    run(scenario())


def _deactivate(url: str, name: str) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            deactivate_cashier(session, name)
    finally:
        db.close()


def test_a_register_whose_cashier_is_deactivated_is_closed_and_the_others_keep_working(sqlite_url: str) -> None:
    async def scenario() -> None:
        tokens = await asyncio.to_thread(prepare_store, sqlite_url)
        server = StoreServer(sqlite_url, credential_check_s=0.2)
        await server.start()
        try:
            async with (
                register(server, tokens.register) as sams,
                register(server, tokens.register) as alexs,
                register(server, tokens.register) as nobodys,
            ):
                sam = await sams.login("Sam", "1357")
                await alexs.login("Alex")
                earlier = make_sale([("SKU-0001", 1)], cashier_id=sam)
                sold = await sams.submit(earlier)
                assert sold["type"] == "sale.accepted"
                assert await server.close_deactivated() == 0
                await asyncio.to_thread(_deactivate, sqlite_url, "Sam")
                async with asyncio.timeout(5):
                    await sams.ws.wait_closed()
                assert (sams.ws.close_code, sams.ws.close_reason) == (DEACTIVATED_CLOSE_CODE, "cashier deactivated")
                for other in (alexs, nobodys):
                    reply = await other.request({"type": "cashiers.list"})
                    assert [c["name"] for c in reply["cashiers"]] == ["Alex"]
                # Sam's sale made before stays recorded; logging Sam in again is refused
                async with register(server, tokens.register) as again:
                    reply = await again.request({"type": "cashier.login", "cashier_id": sam, "pin": "1357"})
                    assert (reply["code"], reply["message"]) == (
                        "unknown_cashier",
                        "Sam was deactivated by a manager; pick another name.",
                    )
                # Sales Sam made that are sent again by the next cashier (in doubt) are taken, once
                in_doubt = make_sale([("SKU-0002", 1)], cashier_id=sam)
                first, repeat, before = (
                    await alexs.submit(in_doubt),
                    await alexs.submit(in_doubt),
                    await alexs.submit(earlier),
                )
                assert (first["type"], first["duplicate"]) == ("sale.accepted", False)
                assert (repeat["type"], repeat["duplicate"]) == ("sale.accepted", True)
                assert (before["type"], before["duplicate"]) == ("sale.accepted", True)
        finally:
            await server.stop()
        db = open_database(sqlite_url)
        try:
            with db.read() as session:
                assert session.scalars(select(SaleRow.cashier_id)).all() == [sam, sam]
        finally:
            db.close()

    run(scenario())


def test_a_register_answering_a_sale_is_closed_after_its_reply(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check lands while Sam's sale is being answered: the sale gets its answer, then the close."""
    entered, gate = asyncio.Event(), asyncio.Event()
    handle = RegisterSession.handle

    async def slow_sale(self: RegisterSession, message: dict[str, Any]) -> dict[str, Any]:
        if message["type"] == "sale.submit":
            entered.set()
            await gate.wait()
        return await handle(self, message)

    monkeypatch.setattr(RegisterSession, "handle", slow_sale)

    async def scenario() -> None:
        tokens = await asyncio.to_thread(prepare_store, sqlite_url)
        server = StoreServer(sqlite_url)
        await server.start()
        try:
            async with register(server, tokens.register) as sams:
                sam = await sams.login("Sam", "1357")
                sale = make_sale([("SKU-0001", 1)], cashier_id=sam)
                answer = asyncio.create_task(sams.submit(sale))
                async with asyncio.timeout(5):
                    await entered.wait()  # the sale is being answered
                await asyncio.to_thread(_deactivate, sqlite_url, "Sam")
                assert await server.close_deactivated() == 1
                assert sams.ws.state is State.OPEN, "not closed while the sale is being answered"
                gate.set()
                reply = await answer
                assert (reply["type"], reply["sale_id"]) == ("sale.accepted", sale["id"])
                async with asyncio.timeout(5):
                    await sams.ws.wait_closed()
                assert (sams.ws.close_code, sams.ws.close_reason) == (DEACTIVATED_CLOSE_CODE, "cashier deactivated")
        finally:
            await server.stop()

    run(scenario())
