"""``pos register`` reads the lane's devices from DATA_DIR/lane.json with the command line put over it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peripherals.lane_config import PrinterSettings, ScaleSettings, ScannerSettings, TerminalSettings
from pos_cli.lane_options import lane_settings
from pos_cli.main import build_parser


def test_options_go_over_lane_json(tmp_path: Path) -> None:
    (tmp_path / "lane.json").write_text(
        json.dumps({"printer": {"target": "tcp:10.0.0.5:9100"}, "scale": {"target": "serial:/dev/ttyUSB1"}})
    )
    args = build_parser().parse_args(
        ["register", "--data-dir", str(tmp_path), "--scale-protocol", "nci", "--terminal", "10.0.0.9:7001"]
    )
    lane = lane_settings(args)
    assert lane.printer == PrinterSettings("tcp:10.0.0.5:9100")
    assert lane.scale == ScaleSettings("serial:/dev/ttyUSB1", "nci", "kg")
    assert lane.terminal == TerminalSettings("10.0.0.9:7001")


def test_a_cas_scale_can_be_chosen_on_the_command_line(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["register", "--data-dir", str(tmp_path), "--scale", "serial:/dev/ttyUSB1", "--scale-protocol", "cas"]
    )
    assert lane_settings(args).scale == ScaleSettings("serial:/dev/ttyUSB1", "cas", "kg")


def test_scanner_option_names_the_serial_scanner_and_keeps_its_settings_in_lane_json(tmp_path: Path) -> None:
    parse = build_parser().parse_args
    args = parse(["register", "--data-dir", str(tmp_path), "--scanner", "serial:/dev/ttyACM1?baudrate=115200"])
    assert lane_settings(args).scanner == ScannerSettings("serial:/dev/ttyACM1?baudrate=115200")
    (tmp_path / "lane.json").write_text(
        json.dumps({"scanner": {"target": "serial:/dev/ttyACM0", "terminator": "crlf", "prefix": "<"}})
    )
    assert lane_settings(parse(["register", "--data-dir", str(tmp_path)])).scanner == ScannerSettings(
        "serial:/dev/ttyACM0", "crlf", "<"
    )
    args = parse(["register", "--data-dir", str(tmp_path), "--scanner", "serial:/dev/ttyACM1"])
    assert lane_settings(args).scanner == ScannerSettings("serial:/dev/ttyACM1", "crlf", "<")


def test_a_broken_lane_json_is_one_sentence_before_any_window(tmp_path: Path) -> None:
    (tmp_path / "lane.json").write_text('{"scale": {"target": "serial:/dev/ttyUSB1", "speed": 9600}}')
    result = subprocess.run(
        [sys.executable, "-m", "pos_cli.main", "register", "--data-dir", str(tmp_path), "--token", "t"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        f"pos: The scale settings in {tmp_path / 'lane.json'} have 'speed', which we do not know; "
        "use protocol, target, unit.\n"
    )
