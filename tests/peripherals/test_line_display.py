"""Customer display bytes for Epson and CD5220, and what the screen then shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from peripherals.errors import ConfigurationError, DeviceUnavailable
from peripherals.fakes.line_display import FakeLineDisplay
from peripherals.line_display import (
    DisplayProtocol,
    LineDisplay,
    decode_display,
    encode_changes,
    encode_clear,
    encode_init,
    encode_lines,
    open_display,
)
from peripherals.transport import FileTransport


def test_epson_bytes() -> None:
    assert encode_init("epson") == bytes.fromhex("1b40 1f01 1f4300 1b7413")
    assert encode_lines("Milk", "€1.20", "epson", width=6) == (
        bytes.fromhex("1f240101") + b"Milk  " + bytes.fromhex("1f240102") + b"\xd51.20 "
    )
    assert encode_clear("epson") == b"\x0c"


def test_cd5220_bytes() -> None:
    assert encode_init("cd5220") == b"\x1b@"
    assert encode_lines("TOTAL", "EUR 12.34", "cd5220", width=10) == (b"\x1bQATOTAL     \r" + b"\x1bQBEUR 12.34 \r")
    assert encode_clear("cd5220") == b"\x0c"


@pytest.mark.parametrize("protocol", ["epson", "cd5220"])
def test_long_lines_are_cut_and_controls_cannot_escape(protocol: DisplayProtocol) -> None:
    data = encode_init(protocol) + encode_lines("A very long product name here", "x\x1b@\x0cy", protocol)
    assert decode_display(data, protocol) == ("A very long product ", "x?@?y".ljust(20))


@pytest.mark.parametrize("protocol", ["epson", "cd5220"])
def test_update_overwrites_without_clearing(protocol: DisplayProtocol) -> None:
    data = encode_init(protocol) + encode_lines("Coffee 250 g", "5.49", protocol)
    data += encode_lines("TOTAL", "12.97", protocol)
    assert decode_display(data, protocol) == ("TOTAL".ljust(20), "12.97".ljust(20))
    assert decode_display(data + encode_clear(protocol), protocol) == (" " * 20, " " * 20)


def test_epson_shows_the_euro() -> None:
    data = encode_init("epson") + encode_lines("Total", "€12.97", "epson")
    assert decode_display(data, "epson")[1].rstrip() == "€12.97"


def test_cd5220_has_no_euro() -> None:
    assert decode_display(encode_lines("€1", "", "cd5220"), "cd5220")[0].rstrip() == "?1"


def test_display_initialises_once(tmp_path: Path) -> None:
    path = tmp_path / "display.bin"
    display = LineDisplay(FileTransport(path, device="customer display"), "epson")
    display.show("Welcome")
    display.show("Milk", "1.20")
    data = path.read_bytes()
    assert data.count(b"\x1b@") == 1
    assert decode_display(data, "epson") == ("Milk".ljust(20), "1.20".ljust(20))
    assert open_display(f"file:{path}", "cd5220").describe() == f"customer display writing to {path}"


def test_unknown_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="epson or cd5220"):
        open_display(f"file:{tmp_path}/d", "vfd")  # type: ignore[arg-type]


def test_epson_update_sends_only_the_changed_run() -> None:
    shown = ("Bananas 1.234 kg", "TOTAL EUR 12.34")
    data = encode_changes(shown, "Bananas 1.234 kg", "TOTAL EUR 13.63", "epson")
    assert data == bytes.fromhex("1f240c02") + b"3.63"  # column 12 of line 2, four characters
    full = encode_init("epson") + encode_lines(*shown, "epson")
    assert decode_display(full + data, "epson") == ("Bananas 1.234 kg".ljust(20), "TOTAL EUR 13.63".ljust(20))
    assert encode_changes(shown, *shown, "epson") == b""


def test_cd5220_update_rewrites_changed_lines_only() -> None:
    data = encode_changes(("Milk", "TOTAL 1.20"), "Milk", "TOTAL 2.40", "cd5220")
    assert data == b"\x1bQB" + b"TOTAL 2.40".ljust(20) + b"\r"


@pytest.mark.parametrize("protocol", ["epson", "cd5220"])
def test_display_sends_changes_after_the_first_show(tmp_path: Path, protocol: DisplayProtocol) -> None:
    path = tmp_path / "display.bin"
    display = open_display(f"file:{path}", protocol)
    display.show("Welcome")
    first = path.stat().st_size
    display.show("Welcome", "TOTAL 1.20")
    display.show("Welcome", "TOTAL 1.20")  # nothing changed: nothing sent
    assert path.stat().st_size - first == (4 + 10 if protocol == "epson" else 24)
    display.clear()
    display.show("Milk")
    display.refresh()
    data = path.read_bytes()
    assert data.count(b"\x1b@") == 2
    assert decode_display(data, protocol) == ("Milk".ljust(20), " " * 20)


def test_failed_update_is_resent_in_full(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    display = LineDisplay(FileTransport(blocker / "display.bin", device="customer display"), "epson")
    with pytest.raises(DeviceUnavailable):
        display.show("Milk", "1.20")
    blocker.unlink()
    display.show("Milk", "1.20")
    assert decode_display((blocker / "display.bin").read_bytes(), "epson") == ("Milk".ljust(20), "1.20".ljust(20))


def test_fake_display_on_a_pty_shows_what_a_customer_sees() -> None:
    with FakeLineDisplay("cd5220") as fake:
        display = open_display(f"serial:{fake.device}", "cd5220")
        display.show("Coffee 250 g", "EUR 5.49")
        fake.wait_for_screen("Coffee 250 g", "EUR 5.49")
        display.show("TOTAL", "EUR 12.97")
        fake.wait_for_screen("TOTAL", "EUR 12.97")
        assert fake.screen() == ("TOTAL".ljust(20), "EUR 12.97".ljust(20))
