"""`pos stock` and `pos products` as a person at the back office runs them, as real processes,
while the store serves: goods are received, counted, written off, sent to another location and
received there, safety stock and prices change, and the storefront's feed carries each change;
a refusal is one sentence, exit 1, and writes nothing."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import uuid
from typing import Any

from tests.e2e.test_cli import pos
from tests.e2e.test_orders_cli import Store, store

__all__ = ["store"]


def _stock(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return pos(*args, "--data-dir", str(store.data_dir), timeout=60)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def _seq(said: str) -> int:
    found = re.search(r"feed seq (\d+)", said)
    assert found, said
    return int(found.group(1))


def _level(store: Store, sku: str, location: str = "main") -> dict[str, Any]:
    shown = _ok(pos("stock", "show", sku, "--location", location, "--data-dir", str(store.data_dir), "--json"))
    level: dict[str, Any] = json.loads(shown)
    return level


def _written(store: Store) -> tuple[int, int, int]:
    """Movements, feed events and products' rows changed: what a refusal must leave alone."""
    with sqlite3.connect(store.data_dir / "store.db") as db:
        movements = db.execute("SELECT count(*) FROM stock_movements").fetchone()[0]
        events = db.execute("SELECT count(*) FROM feed_events").fetchone()[0]
        prices = db.execute("SELECT sum(price) FROM products").fetchone()[0]
    return movements, events, prices


def test_staff_book_stock_in_count_it_write_it_off_and_move_it_and_the_feed_shows_each(store: Store) -> None:
    start = _level(store, "SKU-00004")["on_hand"]
    received = _ok(_stock(store, "stock", "receive", "SKU-00004=12", "--po", "PO-7", "--by", "ann"))
    assert received.startswith("Received 12 x SKU-00004 at main against purchase order PO-7 (feed seq ")
    assert f"SKU-00004 at main: on hand {start + 12}," in received
    first = _seq(received)

    counted = _ok(_stock(store, "stock", "count", f"SKU-00004={start + 10}"))
    assert f"SKU-00004: counted {start + 10}, the books said {start + 12}: 2 fewer than booked" in counted
    wrote_off = _ok(_stock(store, "stock", "write-off", "SKU-00004=1", "--reason", "damage"))
    assert f"on hand {start + 9}," in wrote_off

    _ok(_stock(store, "stock", "add-location", "backroom", "Back room"))
    assert "backroom  Back room" in _ok(_stock(store, "stock", "locations"))
    transfer = str(uuid.uuid4())
    sent = _ok(_stock(store, "stock", "transfer", "SKU-00004=3", "--to", "backroom", "--request-id", transfer))
    assert f"`pos stock arrive {transfer} SKU=QTY ...`" in sent
    arrived = _ok(_stock(store, "stock", "arrive", transfer, "SKU-00004=3"))
    assert "Everything sent has arrived: the transfer is received." in arrived
    assert _level(store, "SKU-00004", "backroom")["on_hand"] == 3
    assert _level(store, "SKU-00004")["on_hand"] == start + 6
    sale = str(uuid.uuid4())
    returned = _ok(_stock(store, "stock", "return", "SKU-00004=1", "--order", sale))
    assert returned.startswith(f"Returned 1 x SKU-00004 from {sale} to the shelf at main (feed seq ")

    safety = _ok(_stock(store, "stock", "safety", "--sku", "SKU-00004", "2"))
    assert f"SKU-00004 at main: on hand {start + 7}, reserved 0, safety stock 2, available {start + 5}" in safety
    priced = _ok(_stock(store, "products", "set", "SKU-00004", "--price", "3.15", "--by", "ann"))
    assert priced.startswith("SKU-00004: changed price (feed seq ")
    assert "€3.15" in priced
    last = _seq(priced)

    events = store.feed(since=first - 1, count=last - first + 1)
    changes = [e["data"] for e in events if e["type"] == "stock.changed" and e["data"]["movement"]]
    moved = [c["movement"] for c in changes]
    assert [(c["movement"]["reason"], c["location"], c["movement"]["quantity"]) for c in changes] == [
        ("receive", "main", 12),
        ("count", "main", 2),
        ("damage", "main", 1),
        ("transfer_out", "main", 3),
        ("transfer_in", "backroom", 3),
        ("return", "main", 1),
    ]
    assert moved[0]["document_type"] == "purchase_order"
    assert moved[0]["document_id"] == "PO-7"
    assert moved[0]["actor"] == "staff:ann"
    changed = [e["data"] for e in events if e["type"] == "product.changed"]
    assert [(p["sku"], p["price"], p["changed"]) for p in changed] == [("SKU-00004", 315, ["price"])]


def test_a_repeat_with_the_same_request_id_is_not_done_twice(store: Store) -> None:
    for command in (("stock", "receive", "SKU-00005=4"), ("stock", "count", "SKU-00005=40")):  # a count: "now"
        request = str(uuid.uuid4())
        first = _ok(_stock(store, *command, "--request-id", request))
        before = _written(store)
        again = _ok(_stock(store, *command, "--request-id", request))
        assert again.startswith(f"Request {request} was already done; nothing changed this time.")
        assert first.splitlines()[1] == again.splitlines()[1]  # the level as the first left it
        assert _written(store) == before
    _ok(_stock(store, "stock", "add-location", "cellar", "Cellar"))
    assert _ok(_stock(store, "stock", "add-location", "cellar", "Cellar")) == (
        "Location cellar (Cellar) is there already; nothing changed.\n"
    )


def test_a_refusal_is_one_sentence_exit_1_and_writes_nothing(store: Store) -> None:
    before = _written(store)
    for args, said in (
        (("stock", "receive", "SKU-00001=0"), "must be a whole number from 1 to 10000000; got 0."),
        (("stock", "receive", "NOPE=3"), "The store has no product with SKU NOPE"),
        (("stock", "count", "SKU-00001=3", "--at", "yesterday"), "is not an ISO 8601 timestamp"),
        (("stock", "write-off", "SKU-00001=-2"), "must be a whole number from 1"),
        (("stock", "return", "SKU-00001=1", "--at", "2026-11-27 10:00"), "has no time zone; add one, like +00:00."),
        (("stock", "return", "SKU-00001=1", "--at", "2099-01-01T10:00:00+00:00"), "lies in the future"),
        (("stock", "return", "SKU-00001=1", "--at", "0001-01-01T00:00:00Z"), "is more than 7 days ago"),
        (("stock", "transfer", "SKU-00001=1", "--to", "attic"), "The store has no location 'attic'"),
        (("stock", "transfer", "SKU-00001=1", "--to", "main"), "A transfer needs two different locations"),
        (("stock", "arrive", str(uuid.uuid4()), "SKU-00001=1"), "There is no transfer"),
        (("stock", "safety", "--sku", "SKU-00001", "many"), "'many' is not a number of units"),
        (("stock", "show", "SKU-00001", "--location", "attic"), "The store has no location 'attic'"),
        (("products", "set", "SKU-00001", "--price", "2.499"), "is not an amount in EUR (at most 2 decimals)."),
        (("products", "set", "SKU-00001", "--tax-class", "luxury"), "There is no tax class 'luxury'"),
        (("products", "set", "SKU-404", "--price", "1"), "The store has no product with SKU SKU-404"),
        (("products", "set", "SKU-00001"), "Say what to change: --price, --name,"),
        (("products", "set", "SKU-00001", "--barcode", "4006381333932"), "its last digit should be 1"),
        (("products", "set", "SKU-00001", "--price", "1e3"), "'1e3' is not an amount; type digits, e.g. 20.00."),
        (("products", "set", "SKU-00001", "--price", "-1"), "A price must be from 0 to"),
        (("products", "set", "SKU-00001", "--barcode", "  "), "A barcode must be 1 to 64 letters, digits or signs"),
        (("products", "set", "SKU-00001", "--name", "Apples\nPears"), "A product name must be 1 to 200 characters"),
        (("stock", "receive", "SKU-00001=1", "--request-id", ""), "--request-id is empty"),
        (("stock", "add-location", "main", "Other"), "Location main is there already, named 'Shop floor'"),
        (("stock", "add-location", "Back Room", "Back room"), "A location code is 1 to 64 small letters, digits"),
        (("stock", "exceptions", "--sku", "NOPE"), "The store has no product with SKU NOPE"),
        (("stock", "count", "SKU-00001=3", "--at", "2016-11-28T05:00:00+00:00"), "more than 7 days ago"),
        (("stock", "write-off", "SKU-00001=100000"), "fewer than 100000; nothing was written. If more are on the"),
    ):
        refused = _stock(store, *args)
        assert refused.returncode == 1, (args, refused.stdout)
        assert refused.stdout == "", args
        assert refused.stderr.startswith("pos: "), refused.stderr
        assert said in refused.stderr, (said, refused.stderr)
        assert refused.stderr.count("\n") == 1, refused.stderr
    for line, said in (("SKU-00001", "is not SKU=QUANTITY"), ("SKU-00001=1_000", "must be a whole number")):
        malformed = _stock(store, "stock", "receive", line)
        assert malformed.returncode == 2
        assert said in malformed.stderr
    nowhere = pos("stock", "show", "SKU-00001", "--db", f"sqlite:///{store.data_dir / 'nowhere.db'}")
    assert (nowhere.returncode, nowhere.stderr.count("\n")) == (1, 1)
    assert "There is no store database at" in nowhere.stderr
    assert not (store.data_dir / "nowhere.db").exists()
    assert _written(store) == before


def test_a_write_off_that_uncovers_an_order_opens_an_exception_a_manager_lists_and_resolves(store: Store) -> None:
    on_hand = _level(store, "SKU-00006")["on_hand"]
    order = store.place([("SKU-00006", on_hand)], "pickup", "WEB-3001")  # every unit promised online
    wrote_off = _ok(_stock(store, "stock", "write-off", "SKU-00006=2"))
    found = re.search(r"inventory exception (\S+) is open for a manager", wrote_off)
    assert found, wrote_off
    exception = found.group(1)

    listed = _ok(_stock(store, "stock", "exceptions", "--sku", "SKU-00006"))
    assert f"{exception}  SKU-00006 at main: on hand {on_hand - 2}, reserved {on_hand}, 2 short;" in listed
    assert f"held by {order.reservation_id} ({on_hand}) for order {order.order_id}" in listed
    assert f"  now: on hand {on_hand - 2}, reserved {on_hand}, available -2" in listed
    resolved = _ok(_stock(store, "stock", "resolve", exception, "--note", "customer takes fewer", "--by", "max"))
    assert resolved.startswith(f"Inventory exception {exception} is resolved (feed seq ")
    assert _ok(_stock(store, "stock", "exceptions", "--sku", "SKU-00006")) == "No open inventory exceptions.\n"
    events = store.feed(since=_seq(resolved) - 1, count=1)
    assert [(e["type"], e["data"]["exception_id"], e["data"]["note"]) for e in events] == [
        ("inventory_exception.resolved", exception, "customer takes fewer")
    ]
    twice = _ok(_stock(store, "stock", "resolve", exception, "--note", "found them", "--by", "kim"))
    assert twice.startswith(f"Inventory exception {exception} was already resolved by staff:max at ")
    assert twice.endswith(" with the note 'customer takes fewer'; nothing changed.\n"), twice
    unknown = _stock(store, "stock", "resolve", str(uuid.uuid4()))
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert "There is no inventory exception" in unknown.stderr
