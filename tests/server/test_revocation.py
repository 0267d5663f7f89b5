"""A revoked credential loses its open connections within the server's check interval."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from store_server.db.engine import open_database
from store_server.server import REVOKED_CLOSE_CODE, StoreServer
from store_server.usecases.credentials import revoke_named
from tests.server.support import feed_url, prepare_store, register, run


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
