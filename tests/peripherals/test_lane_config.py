"""``lane.json``: the lane's device settings, and one sentence per mistake in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peripherals.errors import ConfigurationError
from peripherals.lane_config import (
    DisplaySettings,
    DrawerSettings,
    LaneConfig,
    PrinterSettings,
    ScaleSettings,
    TerminalSettings,
    load_lane_config,
    parse_lane_config,
)

EXAMPLE = {
    "printer": {"target": "tcp:192.168.1.60:9100", "code_page": 19},
    "drawer": {"target": "printer", "pin": 2, "open_when_high": False, "alert_after_s": 30},
    "scale": {"target": "serial:/dev/ttyUSB1?bytesize=7&parity=E", "protocol": "toledo", "unit": "kg"},
    "display": {"target": "serial:/dev/ttyUSB2", "protocol": "epson"},
    "terminal": {"address": "192.168.1.80:9300"},
}


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "lane.json"
    path.write_text(json.dumps(EXAMPLE))
    assert load_lane_config(path) == LaneConfig(
        PrinterSettings("tcp:192.168.1.60:9100", 19),
        DrawerSettings("printer", 2, False, b"\x07", "cts", 30.0),
        ScaleSettings("serial:/dev/ttyUSB1?bytesize=7&parity=E", "toledo8217", "kg"),
        DisplaySettings("serial:/dev/ttyUSB2", "epson"),
        TerminalSettings("192.168.1.80:9300"),
    )


def test_missing_file_means_no_devices(tmp_path: Path) -> None:
    assert load_lane_config(tmp_path / "lane.json") == LaneConfig()


def test_serial_drawer_settings() -> None:
    cfg = parse_lane_config(
        {"drawer": {"target": "serial:/dev/ttyS0", "opening_sequence": "1b07", "sensor": None, "open_when_high": True}}
    )
    assert cfg.drawer == DrawerSettings("serial:/dev/ttyS0", 2, True, b"\x1b\x07", None, 30.0)


@pytest.mark.parametrize(("name", "driver"), [("toledo", "toledo8217"), ("nci", "nci"), ("cas", "cas"), ("CAS", "cas")])
def test_each_scale_protocol_the_driver_speaks_can_be_chosen(name: str, driver: str) -> None:
    cfg = parse_lane_config({"scale": {"target": "serial:/dev/ttyUSB1", "protocol": name}})
    assert cfg.scale == ScaleSettings("serial:/dev/ttyUSB1", driver, "kg")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"printers": {}}, r"a section we do not know: 'printers'; use printer, drawer"),
        ({"printer": "tcp:x"}, r"The printer settings in lane.json must be a JSON object"),
        (
            {"printer": {"target": "tcp:x", "speed": 1}},
            r"have 'speed', which we do not know; use code_page, columns, logo, profile, receipt_barcode, target",
        ),
        ({"printer": {}}, r"The printer target in lane.json must be a non-empty text"),
        ({"printer": {"target": "tcp:x", "code_page": "19"}}, r"code_page in lane.json must be a whole number"),
        (
            {"scale": {"target": "serial:x", "protocol": "dibal"}},
            r"scale protocol 'dibal' is not supported; use toledo, nci or cas",
        ),
        ({"drawer": {"opening_sequence": "zz"}}, r"opening_sequence 'zz' .* one or two bytes in hex"),
        ({"drawer": {"sensor": "rts"}}, r"sensor in lane.json must be cts, dsr, ri, cd or null"),
        ({"drawer": {"open_when_high": "yes"}}, r"open_when_high in lane.json must be true or false"),
        ({"drawer": {"alert_after_s": 0}}, r"alert_after_s in lane.json must be a number of seconds above 0"),
        ({"drawer": {"alert_after_s": True}}, r"alert_after_s in lane.json must be a number"),
    ],
)
def test_mistakes_are_sentences(data: dict[str, object], sentence: str) -> None:
    with pytest.raises(ConfigurationError, match=sentence):
        parse_lane_config(data)


@pytest.mark.parametrize(
    ("text", "sentence"), [("{", r"are not valid JSON \(line 1"), ("[]", r"must be a JSON object")]
)
def test_broken_files_are_sentences(tmp_path: Path, text: str, sentence: str) -> None:
    path = tmp_path / "lane.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=sentence):
        load_lane_config(path)
