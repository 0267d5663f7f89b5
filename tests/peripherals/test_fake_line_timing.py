"""The pty fakes keep a real serial line's timing, so benchmarks against them are honest."""

from __future__ import annotations

import termios
import time

import pytest

from peripherals.fakes.pty_device import char_bits
from peripherals.fakes.scale import FakeScale
from peripherals.scale import open_scale
from peripherals.scale_codec import ScaleReading, WeightState


def test_char_bits() -> None:
    assert char_bits(termios.CS8) == 10  # 8N1
    assert char_bits(termios.CS7 | termios.PARENB) == 10  # 7E1
    assert char_bits(termios.CS8 | termios.PARENB | termios.CSTOPB) == 12  # 8E2


@pytest.mark.parametrize(("baudrate", "at_least_s"), [(1200, 9 * 10 / 1200), (9600, 9 * 10 / 9600)])
def test_fake_scale_answers_no_faster_than_the_line(baudrate: int, at_least_s: float) -> None:
    with FakeScale("toledo8217") as fake:  # W out, STX "01.234" CR back: 9 characters on the line
        fake.reading = ScaleReading(WeightState.STABLE, 1234)
        scale = open_scale(f"serial:{fake.device}?baudrate={baudrate}", "toledo8217")
        start = time.perf_counter()
        assert scale.read_weight().grams == 1234
        assert time.perf_counter() - start >= at_least_s
        assert fake.line_seconds(9) == pytest.approx(at_least_s)
