"""`pos devices read-scale --tare` and `pos devices scan` as real processes against the fakes on ptys."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from peripherals.fakes.scale import FakeScale
from peripherals.fakes.serial_scanner import FakeSerialScanner
from peripherals.scale_codec import ScaleReading, WeightState
from tests.cli.test_devices import POS, one_sentence, pos


def test_read_scale_takes_off_a_preset_tare(tmp_path: Path) -> None:
    with FakeScale("toledo8217") as toledo:
        toledo.reading = ScaleReading(WeightState.STABLE, 620)
        done = pos("devices", "read-scale", "--scale", f"serial:{toledo.device}", "--tare", "120", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Stable 0.500 kg (500 g) net of a 120 g tare on the scale on ")
        assert done.stdout.endswith("this weight may be charged.\n")
        toledo.reading = ScaleReading(WeightState.STABLE, 80)
        done = pos("devices", "read-scale", "--scale", f"serial:{toledo.device}", "--tare", "120", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Lighter than the 120 g tare on the scale on ")
        assert done.stdout.endswith(
            "(Toledo 8217); put the item in its container on the scale; this weight may not be charged.\n"
        )
        done = pos("devices", "read-scale", "--scale", f"serial:{toledo.device}", "--tare", "-3", data_dir=tmp_path)
        assert done.returncode == 2
        assert "is not a whole number of grams (e.g. 120)" in done.stderr


def test_scan_prints_each_code_with_its_symbology(tmp_path: Path) -> None:
    with FakeSerialScanner() as scanner:
        (tmp_path / "lane.json").write_text(json.dumps({"scanner": {"target": f"serial:{scanner.device}"}}))
        with subprocess.Popen(
            [*POS, "devices", "scan", "--data-dir", str(tmp_path), "--seconds", "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as listening:
            assert listening.stdout is not None
            first = listening.stdout.readline()
            assert first == f"Listening to the scanner on {scanner.device} for 3 s; scan a few barcodes.\n"
            scanner.scan("4006381333931", "]E0")
            scanner.send(b"\xff\xfe\r")
            scanner.scan("12345678")
            out, err = listening.communicate(timeout=30)
        assert listening.returncode == 0, err
        assert out.splitlines() == [
            "4006381333931  EAN/UPC (]E0)",
            f"The scanner on {scanner.device} sent a code we cannot read (unreadable); scan it again, and if it "
            "happens often check the scanner's speed and that it ends codes with CR.",
            "12345678  (no symbology identifier: turn on AIM ids on the scanner to see it)",
            "2 codes read.",
        ]


def test_scan_failures_are_one_sentence(tmp_path: Path) -> None:
    done = pos("devices", "scan", data_dir=tmp_path)
    assert one_sentence(done) == (
        "pos: No serial scanner is set for this lane; pass --scanner serial:DEVICE, or add a 'scanner' section "
        "to lane.json in the data folder (see docs/peripherals.md)."
    )
    missing = tmp_path / "ttyACM9"
    done = pos("devices", "scan", "--scanner", f"serial:{missing}", "--seconds", "5", data_dir=tmp_path)
    assert one_sentence(done) == (
        f"pos: The scanner on {missing} cannot be opened; check its cable is plugged in and no other program "
        "is using the port."
    )
