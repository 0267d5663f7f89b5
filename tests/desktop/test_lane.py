"""The lane against a real store server: client, session and the simulated lane."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from pos_desktop.lane.client import RegisterClient
from pos_desktop.lane.errors import CredentialRefused, RequestRefused, ServerUnreachable, UnknownBarcode
from pos_desktop.lane.session import LaneSession
from pos_desktop.lane.sim import run_sim_lane
from tests.desktop.conftest import RYE, SOURDOUGH, RunningStore

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_sim_lane_gets_every_sale_acknowledged(store: RunningStore) -> None:
    assert run(run_sim_lane(store.url, store.token, 6, seed=11)) == 6


def test_sale_round_trip_and_resubmit_after_a_drop_is_counted_once(store: RunningStore) -> None:
    async def scenario() -> None:
        client = RegisterClient(store.url, store.token)
        welcome = await client.connect()
        assert welcome.store.name == "Harbour Street Market"
        catalogue = await client.fetch_catalogue()
        assert len(catalogue) > 300
        cashiers = await client.cashiers()
        assert [c.name for c in cashiers] == ["Alex Morgan", "Sam Patel"]
        with pytest.raises(RequestRefused) as refused:
            await client.login(cashiers[0].id, "0000")
        assert refused.value.code == "wrong_pin"
        lane = LaneSession(welcome, catalogue, "Till 1")
        lane.log_in(await client.login(cashiers[0].id, "1234"))
        lane.scan(SOURDOUGH)
        lane.scan(RYE)
        lane.scan(RYE)
        with pytest.raises(UnknownBarcode, match=r"No product with barcode 123; check the number or look it up\."):
            lane.scan("123")
        sale = lane.pay_cash(1000)
        assert sale.total == 389 + 2 * 249
        assert sale.change == 1000 - 887
        first = await client.submit_sale(sale)
        assert not first.duplicate
        # The server's reply was lost with the connection: the lane reconnects and sends the same sale.
        ws = client._ws
        assert ws is not None
        await ws.close()
        again = await client.submit_sale(sale)
        assert again.duplicate
        assert again.seq == first.seq
        await client.close()

    run(scenario())


def test_small_pages_still_fetch_the_whole_catalogue(store: RunningStore) -> None:
    async def scenario() -> tuple[int, int]:
        client = RegisterClient(store.url, store.token)
        await client.connect()
        small = len(await client.fetch_catalogue(page_size=50))
        whole = len(await client.fetch_catalogue())
        await client.close()
        return small, whole

    small, whole = run(scenario())
    assert small == whole


def test_a_refused_token_says_to_pair_again(store: RunningStore) -> None:
    client = RegisterClient(store.url, "not-a-token")
    with pytest.raises(CredentialRefused, match="pair it again or check the token"):
        run(client.connect())


def test_nothing_listening_says_which_address() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = RegisterClient(f"ws://127.0.0.1:{port}", "t")
    with pytest.raises(ServerUnreachable) as exc:
        run(client.connect())
    assert str(exc.value) == f"Cannot reach the store server at ws://127.0.0.1:{port}/register."


class _Scripted(RegisterClient):
    """A client whose requests get scripted replies: the edge, the store server, faked."""

    def __init__(self, replies: list[dict[str, Any] | Exception]) -> None:
        super().__init__("ws://127.0.0.1:9", "token")
        self.replies = replies

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


MARK = {"type": "catalogue.changes", "products": [], "removed": [], "next": 40, "epoch": "new", "reload": False}


def test_a_catalogue_read_cut_short_keeps_the_old_mark_so_it_is_read_again() -> None:
    client = _Scripted([MARK, ServerUnreachable("The connection to the store server dropped.")])
    client.catalogue_mark = ("old", 12)
    with pytest.raises(ServerUnreachable):
        run(client.fetch_catalogue())
    assert client.catalogue_mark == ("old", 12)  # the old epoch: the next check says reload again

    page = {"type": "catalogue.page", "products": [], "next": None}
    client.replies = [MARK, page]
    run(client.fetch_catalogue())
    assert client.catalogue_mark == ("new", 40)


def test_only_a_server_that_does_not_know_catalogue_changes_stops_the_checks() -> None:
    page = {"type": "catalogue.page", "products": [], "next": None}
    older = _Scripted([RequestRefused("unknown_type", "This server does not know it."), page])
    run(older.fetch_catalogue())
    assert older.catalogue_mark is None
    assert run(older.catalogue_changes()) is None
    failing = _Scripted([RequestRefused("internal", "The store server failed; send the same request again.")])
    with pytest.raises(RequestRefused):  # not taken for "cannot tell changes": the load fails, and is tried again
        run(failing.fetch_catalogue())
