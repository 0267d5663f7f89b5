"""`pos store lane set|show` and `pos store lanes`, as real processes, against a store on disk."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import pos

TILL = {"printer": {"target": "tcp:192.168.1.60:9100"}, "terminal": {"address": "192.168.1.80:7001"}}


def test_an_installer_stores_shows_and_lists_lane_settings(tmp_path: Path) -> None:
    data = tmp_path / "store"
    assert pos("store", "init", "--data-dir", str(data)).returncode == 0
    till = tmp_path / "till1.json"
    till.write_text(json.dumps(TILL))

    first = pos("store", "lane", "set", "Till 1", str(till), "--data-dir", str(data), "--by", "installer:sam")
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "Stored the lane settings for 'Till 1' as version 1; "
        "the register opens its devices with them when it next starts.\n"
    )
    again = pos("store", "lane", "set", "Till 1", str(till), "--data-dir", str(data))
    assert again.stdout == "The store already keeps these settings for 'Till 1' (version 1); nothing changed.\n"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"printer": {"target": "tcp:192.168.1.60:9100", "speed": 9600}}))
    refused = pos("store", "lane", "set", "Till 1", str(bad), "--data-dir", str(data))
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"pos: The printer settings in {bad} for 'Till 1' have 'speed', which we do not know; use code_page, "
    )
    bad.write_text("{not json")
    broken = pos("store", "lane", "set", "Till 1", str(bad), "--data-dir", str(data))
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"pos: The lane settings {bad} are not valid JSON (line 1:")

    shown = pos("store", "lane", "show", "Till 1", "--data-dir", str(data))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == TILL  # refusals changed nothing; the output can be edited and set again
    assert shown.stderr.startswith("lane 'Till 1' version 1, changed by installer:sam at ")

    missing = pos("store", "lane", "show", "Till 2", "--data-dir", str(data))
    assert missing.returncode == 1
    assert "pos: The store keeps no lane settings for 'Till 2'; that register uses its own DATA_DIR/lane.json." in (
        missing.stderr
    )

    listed = pos("store", "lanes", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["LANE", "VERSION", "CHANGED", "BY", "CHANGED", "AT", "DEVICES"]
    assert row.startswith("Till 1  1        installer:sam")
    assert row.endswith("printer,terminal")
