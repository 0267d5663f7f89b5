"""Queued receipts survive a printer that is down and a restart, and print in order exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from peripherals.errors import DeviceUnavailable
from peripherals.escpos_decode import decode_escpos
from peripherals.fakes.network_printer import FakeNetworkPrinter
from peripherals.print_queue import PrintQueue
from peripherals.printer import open_printer
from pos_core.receipt import ReceiptRow


class FlakyPrinter:
    """Takes jobs while ``up``; records what it took."""

    def __init__(self) -> None:
        self.up = True
        self.taken: list[bytes] = []

    def send(self, data: bytes) -> None:
        if not self.up:
            raise DeviceUnavailable("The receipt printer at 127.0.0.1:9 does not answer; check it is on and connected.")
        self.taken.append(data)


def test_jobs_wait_while_printer_is_down_then_print_in_order(tmp_path: Path) -> None:
    printer = FlakyPrinter()
    queue = PrintQueue(tmp_path / "queue", printer.send)
    printer.up = False
    for n in range(3):
        queue.enqueue(f"job {n}".encode())
    result = queue.drain()
    assert result.printed == 0
    assert result.remaining == 3
    assert result.error is not None
    assert "does not answer" in str(result.error)
    assert [job.read() for job in queue.pending()] == [b"job 0", b"job 1", b"job 2"]

    printer.up = True
    assert queue.drain().printed == 3
    assert printer.taken == [b"job 0", b"job 1", b"job 2"]
    assert queue.pending() == []
    assert queue.drain().printed == 0  # nothing is printed twice


def test_queue_survives_a_restart(tmp_path: Path) -> None:
    down = FlakyPrinter()
    down.up = False
    first = PrintQueue(tmp_path, down.send)
    first.enqueue(b"A")
    first.enqueue(b"B")
    first.drain()
    (tmp_path / "000000000009.tmp").write_bytes(b"half a job from a power cut")

    printer = FlakyPrinter()
    second = PrintQueue(tmp_path, printer.send)  # the register started again
    second.enqueue(b"C")
    assert second.drain().printed == 3
    assert printer.taken == [b"A", b"B", b"C"]
    assert list(tmp_path.iterdir()) == []


def test_a_failure_mid_queue_keeps_the_rest_in_order(tmp_path: Path) -> None:
    taken: list[bytes] = []

    def send(data: bytes) -> None:
        if data == b"2" and not taken.count(b"retry"):
            taken.append(b"retry")
            raise DeviceUnavailable("The receipt printer stopped taking data; check it has paper.")
        taken.append(data)

    queue = PrintQueue(tmp_path, send)
    for n in "123":
        queue.enqueue(n.encode())
    first = queue.drain()
    assert (first.printed, first.remaining) == (1, 2)
    assert queue.drain().printed == 2
    assert taken == [b"1", b"retry", b"2", b"3"]


def test_sequence_continues_after_the_newest_pending_job(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path, FlakyPrinter().send)
    assert queue.enqueue(b"x").sequence == 1
    assert queue.enqueue(b"y").sequence == 2
    queue.drain()
    assert queue.enqueue(b"z").sequence == 1  # ordering only matters among pending jobs


def test_queue_folder_that_cannot_be_made_is_a_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeviceUnavailable, match=r"print queue folder .* cannot be created"):
        PrintQueue(blocker / "queue", FlakyPrinter().send)


def test_receipts_reach_a_replugged_network_printer(tmp_path: Path) -> None:
    with FakeNetworkPrinter() as fake:
        printer = open_printer(f"tcp:127.0.0.1:{fake.port}")
        queue = PrintQueue(tmp_path, printer.send_raw)
        fake.stop()
        queue.enqueue_receipt([ReceiptRow("sale 1")])
        queue.enqueue_receipt([ReceiptRow("sale 2")])
        assert queue.drain().remaining == 2
        fake.start()
        assert queue.drain().printed == 2
        receipts = decode_escpos(fake.wait_for_jobs(2))
        assert [r.texts for r in receipts] == [["sale 1"], ["sale 2"]]


def test_bytes_sent_instead_of_a_job_are_sent_once_and_never_stored(tmp_path: Path) -> None:
    printer = FlakyPrinter()
    queue = PrintQueue(tmp_path, printer.send)
    older = queue.enqueue(b"older receipt")
    job = queue.enqueue(b"receipt")
    printer.up = False
    assert queue.drain({job.sequence: b"receipt+kick"}).printed == 0
    assert [j.read() for j in queue.pending()] == [b"older receipt", b"receipt"], "the stored copy has no kick"
    printer.up = True
    assert queue.drain().printed == 2
    assert printer.taken == [b"older receipt", b"receipt"]
    assert older.sequence < job.sequence
