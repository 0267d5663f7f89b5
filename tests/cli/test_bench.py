"""`pos bench devices --json` as a real process: one JSON object with the documented figures."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_devices_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pos_cli.main", "bench", "devices", "--json", "-n", "2", "--recovery-runs", "1",
         "--retry-interval", "0.05"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    figures = json.loads(line)
    for key in ("receipt_render_ms", "scale_read_ms", "display_update_ms", "print_queue_recovery_s"):
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    assert isinstance(figures["python"], str)
    assert isinstance(figures["machine"], str)
    assert done.stderr == ""


def test_bench_refuses_nonsense_in_one_sentence() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pos_cli.main", "bench", "devices", "-n", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "pos: -n and --recovery-runs must be at least 1, --retry-interval above 0.\n"
