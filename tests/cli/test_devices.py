"""`pos devices ...` as real processes against the fakes: the commands an installer types."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from peripherals.escpos_decode import DrawerKick, decode_escpos
from peripherals.fakes.line_display import FakeLineDisplay
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.fakes.scale import FakeCasScale, FakeScale
from peripherals.fakes.serial_printer import FakeSerialPrinter
from peripherals.fakes.terminal_simulator import TerminalSimulator
from peripherals.line_display import decode_display
from peripherals.scale_codec import ScaleReading, WeightState

POS = [sys.executable, "-m", "pos_cli.main"]


def pos(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POS, *args[:2], "--data-dir", str(data_dir), *args[2:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    """The failure's stderr: exactly one line, a sentence, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("pos: ")
    assert line.endswith(".")
    return line


def test_test_print_on_a_file_printer(tmp_path: Path) -> None:
    printed = tmp_path / "receipts.escpos"
    done = pos("devices", "test-print", "--printer", f"file:{printed}", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Printed a test page on the receipt printer writing to {printed}.",
        "Profile: epson-tm-t88 (Epson TM-T88 III to VI, 80 mm paper), 42 columns, 512 dots; sale code: qr; logo: none",
        "Status: The receipt printer does not report its status; check it by eye.",
    ]
    [page] = decode_escpos(printed.read_bytes())
    assert page.texts[0] == "TEST PAGE"
    assert "Euro and accents: € £ ä ö ü ß é ñ" in page.texts
    assert "123456789012345678901234567890123456789012" in page.texts  # the ruler: as wide as a line
    assert len(page.qr_codes) == 1
    assert page.cut


def test_test_print_uses_the_lanes_profile_and_says_a_missing_logo_is_left_out(tmp_path: Path) -> None:
    printed = tmp_path / "receipts.escpos"
    printer = {"target": "file:unused", "profile": "generic-58mm", "logo": "shop-logo.png"}
    (tmp_path / "lane.json").write_text(json.dumps({"printer": printer}))
    done = pos("devices", "test-print", "--printer", f"file:{printed}", data_dir=tmp_path)  # the address only
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == (
        "Profile: generic-58mm (any 58 mm ESC/POS printer, 203 dpi), 32 columns, 384 dots; sale code: qr; "
        f"logo: The receipt logo {tmp_path / 'shop-logo.png'} does not exist; receipts print without it until the "
        "file is there."
    )
    [page] = decode_escpos(printed.read_bytes())
    assert page.images == []
    assert "12345678901234567890123456789012" in page.texts
    assert all(len(line.text) * (2 if line.big else 1) <= 32 for line in page.lines if not line.qr)


def test_test_print_shows_the_logo_and_the_code128_sale_barcode(tmp_path: Path) -> None:
    Image.new("L", (200, 40), 0).save(tmp_path / "logo.png")
    printed = tmp_path / "receipts.escpos"
    printer = {"target": f"file:{printed}", "profile": "generic-80mm", "receipt_barcode": "code128", "logo": "logo.png"}
    (tmp_path / "lane.json").write_text(json.dumps({"printer": printer}))
    done = pos("devices", "test-print", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].endswith("48 columns, 576 dots; sale code: code128; logo: 200 x 40 dots")
    [page] = decode_escpos(printed.read_bytes())
    assert [(image.width, image.height, image.before_line) for image in page.images] == [(200, 40, 0)]
    [code] = page.barcodes
    assert code.symbology == "CODE128"
    assert len(code.data) == 40


def test_test_print_on_a_network_printer_reports_its_status(tmp_path: Path) -> None:
    with FakeNetworkPrinter(status={1: 0x12, 2: 0x12, 4: 0x1E}) as fake:  # paper near its end
        done = pos("devices", "test-print", "--printer", f"tcp:127.0.0.1:{fake.port}", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "Status: The receipt paper is nearly out; have a new roll ready."
        assert decode_escpos(fake.wait_for_jobs(1))[0].texts[0] == "TEST PAGE"


def test_test_print_through_a_cups_queue(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[0] + '.job', 'wb').write(sys.stdin.buffer.read())\n")
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    done = pos("devices", "test-print", "--printer", "cups:TM_T88", data_dir=tmp_path,
               env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Printed a test page on the receipt printer on CUPS queue TM_T88.")
    assert decode_escpos((bin_dir / "lp.job").read_bytes())[0].texts[0] == "TEST PAGE"


@pytest.mark.parametrize(
    ("printer", "sentence"),
    [
        (None, r"No receipt printer is set for this lane; pass --printer TARGET, or add a 'printer' section"),
        ("usb:04b8:0202", r"(needs libusb|is not connected|may not use)"),  # whichever this machine lacks
        ("cups:TM_T88", r"CUPS is not installed on this computer"),
        ("tcp:127.0.0.1:1", r"The receipt printer at 127.0.0.1:1 does not answer; check it is on and connected"),
        ("lpt1", r"address 'lpt1' is not understood; use file:PATH, tcp:HOST\[:PORT\]"),
    ],
)
def test_test_print_failures_are_one_sentence(tmp_path: Path, printer: str | None, sentence: str) -> None:
    args = ["--printer", printer] if printer else []
    done = pos("devices", "test-print", *args, data_dir=tmp_path, env={"PATH": str(tmp_path)})  # no lp on PATH
    assert re.search(sentence, one_sentence(done))


def test_open_drawer_on_the_printer(tmp_path: Path) -> None:
    with FakeNetworkPrinter(status={1: 0x12}) as fake:
        done = pos("devices", "open-drawer", "--printer", f"tcp:127.0.0.1:{fake.port}", "--drawer-pin", "5",
                   data_dir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == (
            f"Sent the open command to the cash drawer on the receipt printer at 127.0.0.1:{fake.port}; "
            "its sensor says open.\n"
        )
        assert decode_escpos(fake.wait_for_jobs(1))[0].drawer_kicks == [DrawerKick(5, 100, 100)]


def test_open_drawer_on_its_own_serial_port(tmp_path: Path) -> None:
    with FakeSerialPrinter() as port:  # any pty: it records the opening sequence
        done = pos("devices", "open-drawer", "--drawer", f"serial:{port.device}", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "its sensor does not report" in done.stdout  # a pty has no CTS line
        assert port.wait_for_bytes(1) == b"\x07"


def test_read_scale(tmp_path: Path) -> None:
    with FakeScale("toledo8217") as toledo, FakeScale("nci") as nci:
        toledo.reading = ScaleReading(WeightState.STABLE, 1234)
        nci.reading = ScaleReading(WeightState.IN_MOTION, 250)
        done = pos("devices", "read-scale", "--scale", f"serial:{toledo.device}", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Stable 1.234 kg (1234 g) on the scale on ")
        assert done.stdout.endswith("(Toledo 8217); this weight may be charged.\n")
        done = pos("devices", "read-scale", "--scale", f"serial:{nci.device}", "--scale-protocol", "nci",
                   data_dir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("In motion 0.250 kg (250 g)")
        assert done.stdout.endswith("this weight may not be charged.\n")
        toledo.mute = True
        done = pos("devices", "read-scale", "--scale", f"serial:{toledo.device}", "--timeout", "0.2",
                   data_dir=tmp_path)  # fmt: skip
        assert one_sentence(done) == (
            f"pos: The scale on {toledo.device} does not answer; check it is on and its cable is in."
        )


def test_read_scale_and_detect_a_cas_scale(tmp_path: Path) -> None:
    with FakeCasScale() as cas:
        cas.reading = ScaleReading(WeightState.STABLE, 534)
        done = pos("devices", "read-scale", "--scale", f"serial:{cas.device}", "--scale-protocol", "cas",
                   data_dir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == (
            f"Stable 0.534 kg (534 g) on the scale on {cas.device} (CAS stream); this weight may be charged.\n"
        )
        text = pos("devices", "detect", "--no-usb", "--port", cas.device, data_dir=tmp_path)
        assert text.returncode == 0, text.stderr
        assert f"-> serial:{cas.device}?baudrate=9600 --scale-protocol cas" in text.stdout


def test_display_text(tmp_path: Path) -> None:
    with FakeLineDisplay("epson") as fake:
        done = pos("devices", "display", "Hello", "--lower", "Till 3 open", "--display", f"serial:{fake.device}",
                   data_dir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"Showed 'Hello' on the customer display on {fake.device}.\n"
        fake.wait_for_screen("Hello", "Till 3 open")
    shown = tmp_path / "display.bin"
    done = pos("devices", "display", "Welcome", "--display", f"file:{shown}", "--display-protocol", "cd5220",
               data_dir=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert decode_display(shown.read_bytes(), "cd5220")[0].rstrip() == "Welcome"


def test_list_reads_lane_json_and_checks_each_device(tmp_path: Path) -> None:
    with FakeNetworkPrinter(status={1: 0x12, 2: 0x12, 4: 0x12}) as printer, FakeScale("nci") as scale:
        (tmp_path / "lane.json").write_text(json.dumps({
            "printer": {"target": f"tcp:127.0.0.1:{printer.port}"},
            "drawer": {"target": "printer", "open_when_high": True},
            "scale": {"target": f"serial:{scale.device}", "protocol": "nci"},
            "display": {"target": f"file:{tmp_path}/display.bin", "protocol": "cd5220"},
        }))  # fmt: skip
        done = pos("devices", "list", "--scanner", "serial:/dev/ttyACM0", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["receipt", "cash", "scale", "customer", "payment", "serial"]
    assert lines[0].endswith("ready")
    assert lines[1].endswith("sensor says closed")
    assert lines[2].endswith("answers: stable")
    assert lines[3].endswith("not checked: displays do not answer")
    assert lines[4].endswith("not set")
    assert lines[5].split() == ["serial", "scanner", "serial:/dev/ttyACM0", "not", "checked:", "try", "`scan`"]


def test_list_without_devices_and_with_a_broken_lane_file(tmp_path: Path) -> None:
    done = pos("devices", "list", data_dir=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("No devices are set for this lane;")
    (tmp_path / "lane.json").write_text('{"printer": {"target": "tcp:x"},}')
    assert "are not valid JSON (line 1" in one_sentence(pos("devices", "list", data_dir=tmp_path))


def test_detect_probes_the_named_ports(tmp_path: Path) -> None:
    with FakeScale("toledo8217") as scale, FakeSerialPrinter({1: 0x12}) as printer:
        done = pos("devices", "detect", "--no-usb", "--port", scale.device, "--port", printer.device, "--json",
                   data_dir=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert [(d["kind"], d["target"], d["protocol"]) for d in report["devices"]] == [
            ("scale", f"serial:{scale.device}?baudrate=9600", "toledo8217"),
            ("receipt printer", f"serial:{printer.device}?baudrate=9600", None),
        ]
        assert printer.received() == b"\x10\x04\x01"
        text = pos("devices", "detect", "--no-usb", "--port", scale.device, data_dir=tmp_path)
        assert text.returncode == 0, text.stderr
        assert f"-> serial:{scale.device}?baudrate=9600 --scale-protocol toledo" in text.stdout


def test_pay_takes_a_card_payment_on_the_terminal(tmp_path: Path) -> None:
    with TerminalSimulator(["approve", "decline"]) as terminal:
        address = f"127.0.0.1:{terminal.port}"
        done = pos("devices", "pay", "12,50", "--terminal", address, data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == f"Asking the card terminal at {address} for €12.50..."
        assert lines[-1].startswith("Card payment of €12.50 approved (")
        [payment] = terminal.payments.values()
        assert (payment.request.amount, payment.state) == (1250, "approved")
        declined = pos("devices", "pay", "0.01", "--terminal", f"tcp:{address}", data_dir=tmp_path)
        assert one_sentence(declined).startswith("pos: The card was declined")
    assert (tmp_path / "payments").is_dir()  # the lane's own intent store, as the register uses


def test_refund_returns_money_to_the_card_of_an_earlier_payment(tmp_path: Path) -> None:
    with TerminalSimulator(["approve", "approve"]) as terminal:
        address = f"127.0.0.1:{terminal.port}"
        paid = pos("devices", "pay", "12,50", "--terminal", address, data_dir=tmp_path)
        assert paid.returncode == 0, paid.stderr
        payment_id = paid.stdout.splitlines()[-1].rsplit("payment id ", 1)[1].rstrip("]")
        back = pos("devices", "refund", "2.50", "--original", payment_id, "--terminal", address, data_dir=tmp_path)
        assert back.returncode == 0, back.stderr
        assert back.stdout.splitlines()[0] == f"Asking the card terminal at {address} to refund €2.50..."
        assert "refund id " in back.stdout.splitlines()[-1]
        refunds = [p for p in terminal.payments.values() if p.request.intent_id != payment_id]
        assert [(r.request.amount, r.request.original_intent_id, r.state) for r in refunds] == [
            (250, payment_id, "approved")
        ]
        unknown = pos("devices", "refund", "1", "--original", "not-an-id", "--terminal", address, data_dir=tmp_path)
        assert one_sentence(unknown).startswith("pos: The original card payment's id is not one the terminal")


def test_pay_failures_are_one_sentence(tmp_path: Path) -> None:
    assert one_sentence(pos("devices", "pay", "1", data_dir=tmp_path)).startswith(
        "pos: No payment terminal is set for this lane; pass --terminal HOST:PORT"
    )
    assert "is not an amount" in one_sentence(pos("devices", "pay", "1.2.3", "--terminal", "h:1", data_dir=tmp_path))
    off = one_sentence(pos("devices", "pay", "1", "--terminal", "127.0.0.1:1", data_dir=tmp_path))
    assert off.startswith("pos: The card terminal at 127.0.0.1:1 does not answer")
