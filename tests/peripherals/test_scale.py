"""Scale codecs byte for byte, and a scale on a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.fakes.scale import FakeCasScale, FakeScale
from peripherals.scale import Scale, ScaleProtocol, open_scale
from peripherals.scale_codec import (
    NCI_STATUS,
    NCI_TARE,
    NCI_WEIGHT,
    NCI_ZERO,
    TOLEDO_STATUS,
    TOLEDO_WEIGHT,
    TOLEDO_ZERO,
    ScaleError,
    ScaleReading,
    WeightState,
    apply_tare,
    decode_cas,
    decode_nci,
    decode_toledo,
    encode_cas_frame,
    encode_nci_answer,
    encode_toledo_answer,
    to_grams,
)
from peripherals.transport import SerialTransport

STABLE, MOTION = WeightState.STABLE, WeightState.IN_MOTION
UNDER, OVER, ERROR = WeightState.UNDER_ZERO, WeightState.OVER_CAPACITY, WeightState.ERROR
BELOW_TARE = WeightState.BELOW_TARE


def test_requests_are_single_letters() -> None:
    assert (TOLEDO_WEIGHT, TOLEDO_STATUS, TOLEDO_ZERO) == (b"\x57", b"\x53", b"\x5a")
    assert (NCI_WEIGHT, NCI_STATUS, NCI_ZERO, NCI_TARE) == (b"W\x0d", b"S\x0d", b"Z\x0d", b"T\x0d")


@pytest.mark.parametrize(
    ("frame", "unit", "expected"),
    [
        (b"\x0201.234\x0d", "kg", ScaleReading(STABLE, 1234)),
        (b"\x0200.005\x0d", "kg", ScaleReading(STABLE, 5)),
        (b"\x02001.50\x0d", "lb", ScaleReading(STABLE, 680)),  # 1.5 lb = 680.388 g
        (b"\x02?\x60\x0d", "kg", ScaleReading(STABLE)),  # status: nothing wrong
        (b"\x02?\x70\x0d", "kg", ScaleReading(STABLE, None, at_zero=True)),
        (b"\x02?\x61\x0d", "kg", ScaleReading(MOTION)),
        (b"\x02?\x64\x0d", "kg", ScaleReading(UNDER)),
        (b"\x02?\x62\x0d", "kg", ScaleReading(OVER)),
        (b"\x02?\xe1\x0d", "kg", ScaleReading(MOTION)),  # parity bit set
    ],
)
def test_decode_toledo(frame: bytes, unit: str, expected: ScaleReading) -> None:
    assert decode_toledo(frame, unit) == expected


@pytest.mark.parametrize("frame", [b"\x02\x0d", b"\x02?\x0d", b"\x02?\x01\x0d", b"\x02abc\x0d"])
def test_decode_toledo_rejects_garbage(frame: bytes) -> None:
    with pytest.raises(ScaleError):
        decode_toledo(frame)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x0a0001.234kg\x0d\x0a00\x0d\x03", ScaleReading(STABLE, 1234)),
        (b"\x0a0001.234KG\x0d\x0a10\x0d\x03", ScaleReading(MOTION, 1234)),
        (b"\x0a  0.250 kg\x0d\x0a00\x0d\x03", ScaleReading(STABLE, 250)),
        (b"\x0a0000.00lb\x0d\x0a20\x0d\x03", ScaleReading(STABLE, 0, at_zero=True)),
        (b"\x0a-0000.12kg\x0d\x0a01\x0d\x03", ScaleReading(UNDER)),
        (b"\x0a^^^^^^^kg\x0d\x0a02\x0d\x03", ScaleReading(OVER)),
        (b"\x0a00\x0d\x03", ScaleReading(STABLE)),
        (b"\x0a10\x0d\x03", ScaleReading(MOTION)),
        (b"\x0a40\x0d\x03", ScaleReading(ERROR)),  # RAM error
        (b"\x0a08\x0d\x03", ScaleReading(ERROR)),  # calibration fault
        (b"\x0a0001.000kg\x0d\x0aS00\x0d\x03", ScaleReading(STABLE, 1000)),  # SCP-02 "S" prefix
        (b"\x0a00p\x0d\x03", ScaleReading(STABLE)),  # optional third status byte
        # byte 2 "p" (0x70: byte 3 follows), byte 3 "4" (0x34: bit 2 net weight)
        (b"\x0a0000.250kg\x0d\x0a0p4\x0d\x03", ScaleReading(STABLE, 250, net=True)),
        (b"\x0a0000.250kg\x0d\x0a0p\xb4\x0d\x03", ScaleReading(STABLE, 250, net=True)),  # parity bit set
        (b"\x0a2p4\x0d\x03", ScaleReading(STABLE, None, at_zero=True, net=True)),  # answer to T: tared
        (b"\x0a0p3\x0d\x03", ScaleReading(STABLE)),  # byte 3 "3": high range, gross
        (b"\x0a0p8\x0d\x03", ScaleReading(ERROR)),  # byte 3 bit 3: initial zero error
        (b"\x0a0q4\x0d\x03", ScaleReading(UNDER, net=True)),  # net weight below zero
    ],
)
def test_decode_nci(frame: bytes, expected: ScaleReading) -> None:
    # status bytes as they travel: "0" = 0x30 (bits 4+5 set), "1" = 0x31 in motion, "2" = 0x32 ...
    assert decode_nci(frame) == expected


@pytest.mark.parametrize(
    "frame", [b"\x0a?\x0d\x03", b"", b"\x0a\x0d\x03", b"\x0aab\x0d\x03", b"\x0axx\x0d\x0a00\x0d\x03"]
)
def test_decode_nci_rejects_garbage(frame: bytes) -> None:
    with pytest.raises(ScaleError):
        decode_nci(frame)


def test_encoders_write_what_the_manuals_show() -> None:
    assert encode_toledo_answer(TOLEDO_WEIGHT, ScaleReading(STABLE, 1234)) == b"\x0201.234\x0d"
    assert encode_toledo_answer(TOLEDO_WEIGHT, ScaleReading(MOTION, 1234)) == b"\x02?\x61\x0d"
    assert encode_toledo_answer(TOLEDO_STATUS, ScaleReading(STABLE, 0, True)) == b"\x02?\x70\x0d"
    assert encode_nci_answer(NCI_WEIGHT, ScaleReading(STABLE, 1234)) == b"\x0a0001.234kg\x0d\x0a00\x0d\x03"
    assert encode_nci_answer(NCI_STATUS, ScaleReading(OVER)) == b"\x0a02\x0d\x03"
    assert encode_nci_answer(b"Q\x0d", ScaleReading(STABLE)) == b"\x0a?\x0d\x03"
    assert encode_nci_answer(NCI_TARE, ScaleReading(STABLE, 0, True, net=True)) == b"\x0a\x32\x70\x34\x0d\x03"
    assert encode_nci_answer(NCI_TARE, ScaleReading(MOTION, 120)) == b"\x0a\x31\x30\x0d\x03"
    assert encode_nci_answer(NCI_WEIGHT, ScaleReading(STABLE, 250, net=True)) == b"\x0a0000.250kg\x0d\x0a0p4\x0d\x03"


@pytest.mark.parametrize(
    ("gross", "tare", "expected"),
    [
        (ScaleReading(STABLE, 620), 120, ScaleReading(STABLE, 500, net=True, tare_grams=120)),
        (ScaleReading(STABLE, 120), 120, ScaleReading(STABLE, 0, net=True, tare_grams=120)),
        (ScaleReading(STABLE, 80), 120, ScaleReading(BELOW_TARE, None, net=True, tare_grams=120)),
        (ScaleReading(MOTION, 80), 120, ScaleReading(MOTION, 0, net=True, tare_grams=120)),
        (ScaleReading(UNDER), 120, ScaleReading(UNDER, None, net=True, tare_grams=120)),
        (ScaleReading(STABLE, 620), 0, ScaleReading(STABLE, 620)),
    ],
)
def test_preset_tare_is_taken_off_and_never_negative(gross: ScaleReading, tare: int, expected: ScaleReading) -> None:
    net = apply_tare(gross, tare)
    assert net == expected
    assert net.sellable is (expected.state is STABLE and (expected.grams or 0) > 0)


@pytest.mark.parametrize("tare", [-1, 1.5, True])
def test_preset_tare_must_be_whole_grams(tare: int) -> None:
    with pytest.raises(ScaleError):
        apply_tare(ScaleReading(STABLE, 620), tare)


def test_to_grams_rounds_half_even_without_floats() -> None:
    assert to_grams("0.0005", "kg") == 0  # 0.5 g -> 0 (even)
    assert to_grams("0.0015", "kg") == 2  # 1.5 g -> 2 (even)
    assert to_grams("1", "oz") == 28
    with pytest.raises(ScaleError):
        to_grams("NaN", "kg")


def test_sellable_only_when_stable_and_positive() -> None:
    assert ScaleReading(STABLE, 10).sellable
    assert not ScaleReading(STABLE, 0).sellable
    assert not ScaleReading(MOTION, 10).sellable
    assert not ScaleReading(STABLE).sellable


@pytest.fixture(params=["toledo8217", "nci"])
def fake_scale(request: pytest.FixtureRequest) -> Iterator[FakeScale]:
    protocol: ScaleProtocol = request.param
    with FakeScale(protocol) as fake:
        yield fake


def test_scale_on_a_pty_weighs_and_zeroes(fake_scale: FakeScale) -> None:
    scale = open_scale(f"serial:{fake_scale.device}", fake_scale.protocol, timeout=2)
    assert scale.describe().startswith(f"scale on {fake_scale.device} (")
    fake_scale.reading = ScaleReading(STABLE, 1234)
    reading = scale.read_weight()
    assert reading == ScaleReading(STABLE, 1234)
    assert reading.sellable
    fake_scale.reading = ScaleReading(MOTION, 1240)
    assert not scale.read_weight().sellable
    assert scale.status().state is MOTION
    fake_scale.reading = ScaleReading(STABLE, 3)
    assert scale.zero().at_zero
    assert scale.read_weight().grams == 0
    weight_cmd = b"W" if fake_scale.protocol == "toledo8217" else b"W\r"
    assert fake_scale.commands[0] == weight_cmd


def test_silent_scale_is_a_sentence_not_a_hang(fake_scale: FakeScale) -> None:
    fake_scale.mute = True
    scale = open_scale(f"serial:{fake_scale.device}?baudrate=9600", fake_scale.protocol, timeout=0.2)
    with pytest.raises(DeviceUnavailable, match=r"^The scale on .* does not answer; check it is on"):
        scale.read_weight()


def test_scale_set_to_another_protocol_does_not_answer() -> None:
    with FakeScale("nci") as fake:  # waits for CR that a Toledo request never sends
        scale = open_scale(f"serial:{fake.device}", "toledo8217", timeout=0.2)
        with pytest.raises(DeviceUnavailable, match="does not answer"):
            scale.read_weight()


@dataclass(frozen=True, slots=True)
class GarbledLine(SerialTransport):
    """A line that answers with noise (wrong baud rate), ending in the terminator."""

    def exchange_until(self, data: bytes, terminator: bytes, timeout: float, max_len: int = 256) -> bytes:
        return b"\x7f\x12garbage" + terminator


@pytest.mark.parametrize("protocol", ["toledo8217", "nci"])
def test_unreadable_answer_is_a_sentence(protocol: ScaleProtocol) -> None:
    scale = Scale(GarbledLine("/dev/ttyS9", device="scale"), protocol)
    with pytest.raises(
        DeviceUnavailable, match=r"^The scale on /dev/ttyS9 answers in a way we cannot read; check it is set"
    ):
        scale.read_weight()


@pytest.mark.parametrize(
    ("target", "protocol", "unit"),
    [("tcp:10.0.0.5", "nci", "kg"), ("serial:/dev/ttyS1", "dibal", "kg"), ("serial:/dev/ttyS1", "nci", "stone")],
)
def test_bad_scale_settings(target: str, protocol: ScaleProtocol, unit: str) -> None:
    with pytest.raises(ConfigurationError):
        open_scale(target, protocol, unit)


def test_goods_put_on_the_fake_scale_settle_before_it_reads_steady() -> None:
    with FakeScale("toledo8217", settling=2, idle_s=60.0, line_timing=False) as fake:
        fake.reading = ScaleReading(WeightState.STABLE, 534)
        scale = open_scale(f"serial:{fake.device}", "toledo8217")
        states = [scale.read_weight().state for _ in range(4)]
        assert states == [WeightState.IN_MOTION, WeightState.IN_MOTION, WeightState.STABLE, WeightState.STABLE]
        assert scale.read_weight() == ScaleReading(WeightState.STABLE, 534)
        assert scale.status().state is WeightState.STABLE, "only weight requests are answered in motion"


def test_nci_scale_tares_itself_and_reports_net_weights() -> None:
    with FakeScale("nci", line_timing=False) as fake:
        scale = open_scale(f"serial:{fake.device}", "nci", timeout=2)
        fake.reading = ScaleReading(STABLE, 120)  # the empty container
        assert scale.tare() == ScaleReading(STABLE, None, at_zero=True, net=True)
        fake.reading = ScaleReading(STABLE, 620)
        assert scale.read_weight() == ScaleReading(STABLE, 500, net=True)
        with pytest.raises(PeripheralError, match=r"is tared itself, so the 120 g container would be taken off twice"):
            scale.read_weight(tare_grams=120)
        fake.reading = ScaleReading(STABLE, 0, at_zero=True)  # everything taken off: net is -120 g
        assert scale.read_weight() == ScaleReading(UNDER, net=True)
        assert not scale.zero().at_zero, "a tared scale does not zero"
        assert scale.tare() == ScaleReading(STABLE, None, at_zero=True)  # tare on an empty plate clears it
        assert scale.read_weight() == ScaleReading(STABLE, 0, at_zero=True)
        assert fake.commands == [b"T\r", b"W\r", b"W\r", b"W\r", b"Z\r", b"T\r", b"W\r"]


def test_toledo_has_no_tare_command_so_the_lane_takes_off_a_preset_tare() -> None:
    with FakeScale("toledo8217", line_timing=False) as fake:
        scale = open_scale(f"serial:{fake.device}", "toledo8217", timeout=2)
        with pytest.raises(ConfigurationError, match=r"^The Toledo 8217 protocol has no tare command; press Tare"):
            scale.tare()
        assert fake.commands == [], "nothing was sent"
        fake.reading = ScaleReading(STABLE, 620)
        reading = scale.read_weight(tare_grams=120)
        assert reading == ScaleReading(STABLE, 500, net=True, tare_grams=120)
        assert reading.sellable
        fake.reading = ScaleReading(STABLE, 80)
        below = scale.read_weight(tare_grams=120)
        assert below == ScaleReading(BELOW_TARE, None, net=True, tare_grams=120)
        assert not below.sellable
        with pytest.raises(ConfigurationError, match="whole number of grams"):
            scale.read_weight(tare_grams=-5)


def test_a_tare_keyed_on_a_toledo_scale_is_invisible_to_the_lane() -> None:
    with FakeScale("toledo8217", line_timing=False) as fake:
        scale = open_scale(f"serial:{fake.device}", "toledo8217", timeout=2)
        fake.reading, fake.tare = ScaleReading(STABLE, 620), 120  # Tare pressed on the scale itself
        assert scale.read_weight() == ScaleReading(STABLE, 500), "net, but the protocol cannot say so"


# -- CAS stream -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # 22 bytes: status, gross/net, device id "1", lamp byte, data(8), blank, unit, CR LF
        (b"ST,GS,1\xc4,000013.5 kg\r\n", ScaleReading(STABLE, 13500)),
        (b"ST,GS,1\xc5,0000.000 kg\r\n", ScaleReading(STABLE, 0, at_zero=True)),  # lamp bit 0: zero point
        (b"US,GS,1\x84,0000.534 kg\r\n", ScaleReading(MOTION, 534)),
        (b"ST,NT,1\xc2,0000.250 kg\r\n", ScaleReading(STABLE, 250, net=True)),  # lamp bit 1: tare
        (b"OL,GS,1\x84,0000.000 kg\r\n", ScaleReading(OVER)),
        (b"ST,GS,1\xc4,-000.120 kg\r\n", ScaleReading(UNDER)),
        # 18 bytes ("AND" form): status, gross/net, data(8), unit, CR LF
        (b"ST,GS,+  0.534kg\r\n", ScaleReading(STABLE, 534)),
        (b"US,NT,+  1.250kg\r\n", ScaleReading(MOTION, 1250, net=True)),
        (b"ST,GS,+  1.500lb\r\n", ScaleReading(STABLE, 680)),
        (b"ST,GS,+  0.000kg", ScaleReading(STABLE, 0, at_zero=True)),
    ],
)
def test_decode_cas(frame: bytes, expected: ScaleReading) -> None:
    assert decode_cas(frame) == expected


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"ST,GS,+  0.5",
        b"XX,GS,+  0.534kg\r\n",
        b"ST,GR,+  0.534kg\r\n",
        b"ST,GS,+  a.bcdkg\r\n",
        b"ST,GS,+  0.534 t\r\n",
    ],
)
def test_decode_cas_rejects_garbage(frame: bytes) -> None:
    with pytest.raises(ScaleError):
        decode_cas(frame)


def test_cas_encoder_writes_the_documented_frames() -> None:
    assert encode_cas_frame(ScaleReading(STABLE, 534)) == b"\x53\x54\x2c\x47\x53\x2c\x31\xc4\x2c0000.534\x20kg\x0d\x0a"
    assert len(encode_cas_frame(ScaleReading(STABLE, 534))) == 22
    assert encode_cas_frame(ScaleReading(MOTION, 1250, net=True), device_id=None) == b"US,NT,+  1.250kg\r\n"
    assert encode_cas_frame(ScaleReading(OVER), device_id=None) == b"OL,GS,+  0.000kg\r\n"


def test_cas_scale_is_read_from_its_stream() -> None:
    with FakeCasScale() as fake:
        fake.reading = ScaleReading(MOTION, 530)
        scale = open_scale(f"serial:{fake.device}", "cas", timeout=2)
        assert scale.describe() == f"scale on {fake.device} (CAS stream)"
        assert scale.read_weight() == ScaleReading(MOTION, 530)
        fake.reading = ScaleReading(STABLE, 620)
        assert scale.read_weight(tare_grams=120) == ScaleReading(STABLE, 500, net=True, tare_grams=120)
        with pytest.raises(ConfigurationError, match=r"^The CAS stream protocol has no tare command"):
            scale.tare()
        with pytest.raises(ConfigurationError, match=r"^The CAS stream protocol has no zero command"):
            scale.zero()
        fake.reading = ScaleReading(STABLE, 250, net=True)  # tared on the scale: the line says NT
        with pytest.raises(PeripheralError, match="container would be taken off twice"):
            scale.read_weight(tare_grams=120)
        fake.mute = True  # at most one line still in flight: never a whole line between two line ends
        with pytest.raises(DeviceUnavailable, match=r"sends nothing; .* send its weight continuously \(stream mode\)"):
            open_scale(f"serial:{fake.device}", "cas", timeout=0.2).read_weight()


def test_cas_18_byte_stream() -> None:
    with FakeCasScale(device_id=None, line_timing=False) as fake:
        fake.reading = ScaleReading(STABLE, 1234)
        assert open_scale(f"serial:{fake.device}", "cas").read_weight() == ScaleReading(STABLE, 1234)
