"""Lane settings kept on the store server: set (checked with the register's own parser,
idempotent by content), get and list on SQLite and PostgreSQL, and ``lane.config`` on /register."""

from __future__ import annotations

from typing import Any

import pytest

from store_server.db.engine import open_database
from store_server.usecases.lanes import (
    LaneConfigRefused,
    LaneSettings,
    get_lane_config,
    list_lane_configs,
    set_lane_config,
)
from tests.server.inventory_support import Shop, shop
from tests.server.support import register, run, running_server

__all__ = ["shop"]

TILL = {"printer": {"target": "tcp:192.168.1.60:9100"}, "scale": {"target": "serial:/dev/ttyUSB1", "protocol": "nci"}}


def test_the_first_settings_are_version_1_and_read_back(shop: Shop) -> None:
    stored = shop.write(set_lane_config, "Till 1", TILL, "installer:sam")
    assert (stored.lane, stored.document, stored.version, stored.changed_by, stored.changed) == (
        "Till 1", TILL, 1, "installer:sam", True,
    )  # fmt: skip
    read = shop.read(get_lane_config, "Till 1")
    assert read is not None
    assert (read.document, read.version, read.changed_at) == (TILL, 1, stored.changed_at)
    assert shop.read(get_lane_config, "Till 2") is None


def test_the_same_settings_again_change_nothing_and_new_ones_are_the_next_version(shop: Shop) -> None:
    first = shop.write(set_lane_config, "Till 1", TILL, "installer:sam")
    # The same settings with the keys in another order are the same settings.
    again = shop.write(set_lane_config, "Till 1", dict(reversed(TILL.items())), "installer:kim")
    assert (again.version, again.changed, again.changed_by, again.changed_at) == (1, False, "installer:sam",
                                                                                    first.changed_at)  # fmt: skip
    changed = {**TILL, "terminal": {"address": "192.168.1.80:7001"}}
    second = shop.write(set_lane_config, "Till 1", changed, "installer:kim")
    assert (second.version, second.changed, second.changed_by) == (2, True, "installer:kim")
    read = shop.read(get_lane_config, "Till 1")
    assert read is not None
    assert (read.document, read.version) == (changed, 2)


@pytest.mark.parametrize(
    ("document", "sentence"),
    [
        (
            {"printr": {"target": "x"}},
            "The lane settings lane.json for 'Till 1' have a section we do not know: 'printr'",
        ),
        ({"scale": {"target": "serial:/dev/ttyUSB1", "protocol": "dibal"}}, "The scale protocol 'dibal' is not"),
        ({"printer": {"target": ""}}, "The printer target in lane.json for 'Till 1' must be a non-empty text."),
        ({"drawer": {"opening_sequence": "zz"}}, "must be one or two bytes in hex"),
        (["printer"], "must be a JSON object with device sections"),
    ],
)
def test_settings_a_register_would_refuse_are_refused_and_nothing_is_written(
    shop: Shop, document: Any, sentence: str
) -> None:
    shop.write(set_lane_config, "Till 1", TILL, "installer:sam")
    before = shop.fingerprint()
    with pytest.raises(LaneConfigRefused) as refused:
        shop.write(set_lane_config, "Till 1", document, "installer:kim")
    assert sentence in str(refused.value)
    assert shop.fingerprint() == before
    read = shop.read(get_lane_config, "Till 1")
    assert read is not None
    assert (read.document, read.version) == (TILL, 1)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_lane_needs_a_name(shop: Shop, name: str) -> None:
    with pytest.raises(LaneConfigRefused, match="A lane's name must be 1 to 200 characters"):
        shop.write(set_lane_config, name, TILL, "installer:sam")
    assert shop.read(list_lane_configs) == []


def test_lanes_are_listed_by_name(shop: Shop) -> None:
    shop.write(set_lane_config, "Till 2", {}, "installer:sam")
    shop.write(set_lane_config, "Till 1", TILL, "installer:sam")
    listed: list[LaneSettings] = shop.read(list_lane_configs)
    assert [(s.lane, s.version, s.document) for s in listed] == [("Till 1", 1, TILL), ("Till 2", 1, {})]


def _store_settings(url: str, lane: str, document: dict[str, Any]) -> None:
    db = open_database(url)
    try:
        with db.write() as session:
            set_lane_config(session, lane, document, "installer:sam")
    finally:
        db.close()


def test_a_register_asks_for_its_lane_settings_over_the_websocket(sqlite_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(sqlite_url) as (server, tokens):
            _store_settings(sqlite_url, "Till 1", TILL)
            async with register(server, tokens.register) as reg:
                return [
                    await reg.request({"type": "lane.config", "lane": "Till 1"}),
                    await reg.request({"type": "lane.config", "lane": "Till 7"}),
                    await reg.request({"type": "lane.config"}),
                    await reg.request({"type": "lane.config", "lane": "x" * 201}),
                ]

    kept, none, missing, too_long = run(scenario())
    assert kept == {"type": "lane.config", "req": "r1", "lane": "Till 1", "config": TILL, "version": 1}
    assert none == {"type": "lane.config", "req": "r2", "lane": "Till 7", "config": None, "version": None}
    for refused in (missing, too_long):
        assert refused["type"] == "error"
        assert refused["code"] == "bad_message"
        assert "'lane' must be a non-empty string of at most 200 characters" in refused["message"]
