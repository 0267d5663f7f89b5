"""The demo's simulated lane: the fakes it starts are what its lane.json names, and they behave as the banner says."""

from __future__ import annotations

import threading
from pathlib import Path

from peripherals.lane_config import load_lane_config
from peripherals.scale_codec import WeightState
from pos_cli.demo import DEMO_WEIGHT_G, SETTLING_READS, DemoLane
from pos_desktop.lane.devices import open_lane_devices


def test_the_demo_lane_settles_a_weight_echoes_the_display_and_approves_a_card(tmp_path: Path) -> None:
    echoed: list[str] = []
    echo_seen = threading.Event()

    def echo(line: str) -> None:
        echoed.append(line)
        if "Total" in line:
            echo_seen.set()

    lane = DemoLane(tmp_path, step_delay=0.0, echo=echo)
    devices = open_lane_devices(load_lane_config(tmp_path / "lane.json"), tmp_path)
    try:
        assert devices.problems == []
        assert devices.printer is None, "the demo's register prints to its default file"
        assert devices.scale is not None
        assert devices.display is not None
        assert devices.card is not None
        readings = [devices.scale.read().result(timeout=5) for _ in range(SETTLING_READS + 1)]
        assert [r.state for r in readings] == [WeightState.IN_MOTION] * SETTLING_READS + [WeightState.STABLE]
        assert readings[-1].grams == DEMO_WEIGHT_G

        devices.display.show(("Bananas loose   0.90", "Total       EUR 0.90")).result(timeout=5)
        assert echo_seen.wait(5)
        assert echoed[-1] == "[display] Bananas loose   0.90 | Total       EUR 0.90"

        prompts: list[str] = []
        result = devices.card.pay(90, "EUR", "demo-sale", lambda p: prompts.append(p.code)).result(timeout=10)
        assert result.approved
        assert prompts == ["insert_card", "enter_pin", "processing"]
    finally:
        devices.close()
        lane.close()
