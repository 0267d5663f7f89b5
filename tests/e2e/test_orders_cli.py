"""`pos orders` as a person at the back office runs it, as real processes, while the store serves:
orders a storefront placed are listed, picked, made ready, collected and shipped; the feed
shows the same events the storefront's own commands make; a refusal is one sentence, exit 1,
and writes nothing. Also `pos store serve --expiry-interval`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store_server.storefront_client import OnlineOrder, StorefrontClient
from tests.e2e.test_cli import ENV, POS, pos


class Store:
    def __init__(self, url: str, data_dir: Path, storefront: str) -> None:
        self.url, self.data_dir, self.storefront_token = url, data_dir, storefront

    def orders(self, *args: str) -> subprocess.CompletedProcess[str]:
        return pos("orders", *args[:1], "--data-dir", str(self.data_dir), *args[1:], timeout=60)

    def place(self, lines: list[tuple[str, int]], channel: str, reference: str) -> OnlineOrder:
        async def placing() -> OnlineOrder:
            async with StorefrontClient(f"{self.url}/storefront", self.storefront_token) as store:
                return await store.place_order(lines, channel, reference=reference, customer_name="Kim Berg")

        return asyncio.run(placing())

    def feed(self, since: int, count: int) -> list[dict[str, Any]]:
        out = pos("feed", "--server", self.url, "--token", self.storefront_token, "--json",
                  "--since", str(since), "--count", str(count), timeout=30)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data = tmp_path_factory.mktemp("store")
    assert pos("store", "init", "--data-dir", str(data), "--demo").returncode == 0
    token = pos("store", "token", "--data-dir", str(data), "--kind", "storefront", "--name", "web")
    assert token.returncode == 0, token.stderr
    proc = subprocess.Popen(
        [*POS, "store", "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0", "--no-mdns",
         "--expiry-interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", line)
    assert found, line + (proc.stderr.read() if proc.stderr else "")
    yield Store(found.group(1), data, token.stdout.strip())
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def _seq(said: str) -> int:
    found = re.search(r"feed seq (\d+)", said)
    assert found, said
    return int(found.group(1))


def test_staff_pick_ready_and_hand_over_orders_and_the_feed_shows_each_step(store: Store) -> None:
    pickup = store.place([("SKU-00001", 2)], "pickup", "WEB-1001")
    shipped = store.place([("SKU-00002", 1)], "ship_from_store", "WEB-1002")

    listed = store.orders("list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["ORDER", "REFERENCE", "CHANNEL", "STATUS", "CUSTOMER",
                                                     "UNITS", "SHORT", "HELD", "UNTIL"]  # fmt: skip
    assert pickup.order_id in listed.stdout
    assert shipped.order_id in listed.stdout

    shown = store.orders("show", "WEB-1001")  # staff read the storefront's reference off the slip
    assert shown.returncode == 0, shown.stderr
    assert f"Order {pickup.order_id} (WEB-1001) for Kim Berg" in shown.stdout
    assert "line 1  SKU-00001  x 2  (held 2)" in shown.stdout
    assert f"Next: `pos orders pick {pickup.order_id}` or `pos orders cancel {pickup.order_id}`." in shown.stdout

    picked = store.orders("pick", "WEB-1001", "--by", "ann")
    assert picked.returncode == 0, picked.stderr
    assert f"Order {pickup.order_id} (WEB-1001) is now picking" in picked.stdout
    first = _seq(picked.stdout)
    assert store.orders("ready", pickup.order_id).returncode == 0
    collected = store.orders("collect", pickup.order_id)
    assert collected.returncode == 0, collected.stderr
    assert "is now picked_up" in collected.stdout
    for step in ("pick", "ready", "ship"):
        done = store.orders(step, shipped.order_id)
        assert done.returncode == 0, done.stderr
    last = _seq(done.stdout)

    events = store.feed(since=first - 1, count=last - first + 1)
    assert [(e["type"], e["data"]["order_id"]) for e in events if e["type"].startswith("order.")] == [
        ("order.picking", pickup.order_id),
        ("order.ready", pickup.order_id),
        ("order.picked_up", pickup.order_id),
        ("order.picking", shipped.order_id),
        ("order.ready", shipped.order_id),
        ("order.shipped", shipped.order_id),
    ]
    moved = [e["data"]["movement"] for e in events if e["type"] == "stock.changed"]
    assert [(m["reason"], m["document_id"]) for m in moved] == [
        ("commit", pickup.order_id),
        ("commit", shipped.order_id),
    ]
    assert all(m["actor"].startswith("staff:") for m in moved)
    picking = next(e for e in events if e["type"] == "order.picking")
    assert picking["seq"] == first

    done_list = store.orders("list", "--state", "picked_up", "--json")
    assert [json.loads(line)["order_id"] for line in done_list.stdout.splitlines()] == [pickup.order_id]


def test_a_refused_step_is_one_sentence_exit_1_and_writes_nothing(store: Store) -> None:
    order = store.place([("SKU-00003", 1)], "ship_from_store", "WEB-2001")
    before = store.orders("show", order.order_id, "--json").stdout
    latest = store.orders("pick", order.order_id, "--request-id", "not-a-real-step-" + "x" * 40)
    assert latest.returncode == 1
    assert latest.stderr.count("\n") == 1
    assert "pos: " in latest.stderr
    assert "Traceback" not in latest.stderr

    for args, said in (
        (("ready", order.order_id), "reserved cannot be marked ready; it can now only be changed, start picking"),
        (("collect", order.order_id), "cannot be collected"),
        (("ship", "WEB-404"), "There is no order WEB-404; check the order id or the storefront's reference."),
        (("show", "WEB-404"), "There is no order WEB-404"),
    ):
        refused = store.orders(*args)
        assert refused.returncode == 1, refused.stdout
        assert refused.stdout == ""
        assert refused.stderr.startswith("pos: "), refused.stderr
        assert said in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1
        assert "Traceback" not in refused.stderr
    assert store.orders("show", order.order_id, "--json").stdout == before


def test_the_same_request_id_again_is_not_done_twice(store: Store) -> None:
    order = store.place([("SKU-00004", 1)], "pickup", "WEB-3001")
    first = store.orders("pick", order.order_id, "--request-id", "desk-pick-3001")
    again = store.orders("pick", order.order_id, "--request-id", "desk-pick-3001")
    assert first.returncode == again.returncode == 0, again.stderr
    assert "was already picking by request desk-pick-3001; nothing changed." in again.stdout


def test_a_retry_by_reference_reaches_its_order_after_another_takes_the_reference(store: Store) -> None:
    order = store.place([("SKU-00004", 1)], "pickup", "WEB-3002")
    first = store.orders("cancel", "WEB-3002", "--request-id", "desk-cancel-3002")
    store.place([("SKU-00004", 1)], "pickup", "WEB-3002")  # the storefront reuses the number
    again = store.orders("cancel", "WEB-3002", "--request-id", "desk-cancel-3002")
    assert first.returncode == again.returncode == 0, again.stderr
    said = f"Order {order.order_id} (WEB-3002) was already cancelled by request desk-cancel-3002; nothing changed."
    assert said in again.stdout
    other = store.orders("cancel", "WEB-3002")  # a new request by that reference is still ambiguous
    assert (other.returncode, other.stderr.startswith("pos: 2 orders carry the reference WEB-3002")) == (1, True)


@pytest.mark.parametrize("interval", ["0", "-1", "3601", "nan"])
def test_a_bad_expiry_interval_is_one_sentence(tmp_path: Path, interval: str) -> None:
    assert pos("store", "init", "--data-dir", str(tmp_path)).returncode == 0
    served = pos("store", "serve", "--data-dir", str(tmp_path), "--port", "0", "--no-mdns",
                 f"--expiry-interval={interval}", timeout=30)  # fmt: skip
    assert served.returncode == 1
    assert served.stderr.startswith("pos: --expiry-interval must be above 0 and at most 3600 seconds"), served.stderr
    assert served.stderr.count("\n") == 1
