"""A register finds a store server by its mDNS advertisement, both bound to loopback only."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pos_desktop.lane.discovery import StoreNotFound, find_store
from store_server.mdns import StoreAdvertiser

LOOPBACK = "127.0.0.1"


def test_register_discovery_finds_store_advertised_on_loopback() -> None:
    store_id = str(uuid.uuid4())

    async def scenario() -> None:
        advertiser = StoreAdvertiser(store_id=store_id, name="Harbour Street Market", port=48765, interface=LOOPBACK)
        await advertiser.start()
        try:
            found = await find_store(LOOPBACK, timeout=10, store_id=store_id)
        finally:
            await advertiser.stop()
        assert found.store_id == store_id
        assert found.name == "Harbour Street Market"
        assert found.url == "ws://127.0.0.1:48765"
        assert found.register_url == "ws://127.0.0.1:48765/register"

    asyncio.run(scenario())


def test_discovery_gives_up_with_a_sentence_when_no_store_answers() -> None:
    async def scenario() -> None:
        await find_store(LOOPBACK, timeout=1.5, store_id=str(uuid.uuid4()))

    with pytest.raises(StoreNotFound, match=r"No store server answered on 127\.0\.0\.1"):
        asyncio.run(scenario())
