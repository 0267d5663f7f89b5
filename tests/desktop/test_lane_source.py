"""The register opens its devices with the settings the store server keeps for its lane, keeps a
copy in DATA_DIR/lane.json for when the server is unreachable, and uses its own file when the
server keeps none."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from peripherals.lane_config import LaneConfig, PrinterSettings, ScaleSettings, TerminalSettings, load_lane_config
from pos_cli.lanes import register_lane
from pos_cli.main import build_parser
from pos_desktop.lane.lane_source import lane_source, settle_lane_config
from store_server.db.engine import open_database
from store_server.usecases.lanes import set_lane_config
from tests.desktop.conftest import RunningStore

SERVER_KEPT = {
    "printer": {"target": "tcp:127.0.0.1:9100"},
    "scale": {"target": "serial:/dev/ttyUSB1", "protocol": "nci"},
}
LOCAL = {"printer": {"target": "file:/tmp/receipts.bin"}}
UNREACHABLE = "ws://127.0.0.1:1"


def keep(store: RunningStore, lane: str, document: dict[str, Any]) -> None:
    db = open_database(store.db_url)
    try:
        with db.write() as session:
            set_lane_config(session, lane, document, "installer:sam")
    finally:
        db.close()


def lane_file(data_dir: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((data_dir / "lane.json").read_text())
    return found


def test_the_server_kept_settings_are_used_and_kept_for_when_it_is_unreachable(
    store: RunningStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "lane.json").write_text(json.dumps(LOCAL))
    keep(store, "Till 1", SERVER_KEPT)

    fetched = lane_source(store.url, store.token, "Till 1", tmp_path)
    assert fetched.version == 1
    assert fetched.config.printer == PrinterSettings("tcp:127.0.0.1:9100")
    assert fetched.config.scale == ScaleSettings("serial:/dev/ttyUSB1", "nci", "kg")
    assert fetched.origin == "Lane settings version 1 from the store server."
    assert lane_file(tmp_path) == SERVER_KEPT  # the copy replaced the old local settings

    with caplog.at_level(logging.WARNING, logger="pos_desktop.lane.lane_source"):
        offline = lane_source(UNREACHABLE, store.token, "Till 1", tmp_path, timeout=2)
    assert offline.config == fetched.config
    assert offline.version is None
    assert offline.origin.startswith(
        f"Lane settings from {tmp_path / 'lane.json'}: the store server could not be asked"
    )
    assert "Cannot reach the store server" in caplog.text


def test_a_changed_server_copy_replaces_the_kept_copy(store: RunningStore, tmp_path: Path) -> None:
    keep(store, "Till 1", SERVER_KEPT)
    lane_source(store.url, store.token, "Till 1", tmp_path)
    changed = {**SERVER_KEPT, "terminal": {"address": "127.0.0.1:7001"}}
    keep(store, "Till 1", changed)
    again = lane_source(store.url, store.token, "Till 1", tmp_path)
    assert (again.version, again.config.terminal) == (2, TerminalSettings("127.0.0.1:7001"))
    assert lane_file(tmp_path) == changed
    assert load_lane_config(tmp_path / "lane.json") == again.config


def test_without_server_settings_for_the_lane_its_own_file_is_used_untouched(
    store: RunningStore, tmp_path: Path
) -> None:
    keep(store, "Till 2", SERVER_KEPT)  # another lane's settings are not this one's
    (tmp_path / "lane.json").write_text(json.dumps(LOCAL))
    before = (tmp_path / "lane.json").stat().st_mtime_ns
    source = lane_source(store.url, store.token, "Till 1", tmp_path)
    assert source.config.printer == PrinterSettings("file:/tmp/receipts.bin")
    assert source.version is None
    assert source.origin == f"Lane settings from {tmp_path / 'lane.json'}: the store server keeps none for 'Till 1'."
    assert (tmp_path / "lane.json").stat().st_mtime_ns == before


def test_no_settings_anywhere_is_a_lane_without_devices(tmp_path: Path) -> None:
    source = lane_source(UNREACHABLE, "t", "Till 1", tmp_path, timeout=2)
    assert source.config == LaneConfig()
    assert not (tmp_path / "lane.json").exists()


def test_server_settings_this_register_cannot_use_fall_back_to_its_file(tmp_path: Path) -> None:
    (tmp_path / "lane.json").write_text(json.dumps(LOCAL))
    source = settle_lane_config(tmp_path, "Till 1", ({"printer": {"target": "x", "speed": 1}}, 3))
    assert source.config.printer == PrinterSettings("file:/tmp/receipts.bin")
    assert "the store server's are not ones this register can use" in source.origin
    assert lane_file(tmp_path) == LOCAL


def test_the_command_line_goes_over_the_server_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(["register", "--data-dir", str(tmp_path), "--terminal", "10.0.0.9:7001"])
    base = settle_lane_config(tmp_path, "Till 1", ({"scale": {"target": "serial:/dev/ttyUSB1"}}, 1)).config
    lane = register_lane(args)(base)
    assert lane.scale == ScaleSettings("serial:/dev/ttyUSB1", "toledo8217", "kg")
    assert lane.terminal == TerminalSettings("10.0.0.9:7001")
    assert lane.printer == PrinterSettings(f"file:{tmp_path / 'receipts' / 'receipts.escpos'}")
