"""``pos bench devices``: receipt rendering, a scale reading, a display update, print queue recovery.

Everything runs against the fakes on this machine: the scale and the display sit on
pseudo-terminals that keep the timing of a real serial line at the port's settings (9600 baud
8N1 here), and the network printer is the fake on 127.0.0.1, switched off and on again.

* ``receipt_render_ms``: a 13-item sale laid out as a 30-row receipt and encoded to ESC/POS
  bytes (``Sale.from_basket`` + ``layout_receipt`` + ``encode_receipt``); median of N.
* ``scale_read_ms``: ``read_weight()`` from the request to a stable reading (Toledo 8217: 1 byte
  out, 8 back, port opened per read as the driver does); median of N.
* ``display_update_ms``: a scan's update, a new item name on the upper line and the new total on
  the lower, from ``show()`` to both being on the (fake) screen; Epson command set, only what
  changed is sent; median of N.
* ``print_queue_recovery_s``: ten receipts queued while the printer is off; from switching it on
  to the last one printed, with the queue retried every ``--retry-interval`` seconds as the
  register does; median of ``--recovery-runs``.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peripherals.print_queue import PrintQueue

HELP = "receipt render, scale read, display update and print-queue recovery against the fakes"
GOALS = {"receipt_render_ms": 5.0, "scale_read_ms": 100.0, "display_update_ms": 50.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=50, help="runs per figure, median taken (default 50)")
    parser.add_argument("--recovery-runs", type=int, default=3, help="printer off/on cycles (default 3)")
    parser.add_argument("--retry-interval", type=float, default=0.25, help="queue retry period in s (default 0.25)")


def measure(args: argparse.Namespace) -> dict[str, object]:
    from peripherals.errors import ConfigurationError

    if args.n < 1 or args.recovery_runs < 1 or not args.retry_interval > 0:
        raise ConfigurationError("-n and --recovery-runs must be at least 1, --retry-interval above 0.")
    return {
        "receipt_render_ms": _median_ms(_render_once(), args.n),
        "scale_read_ms": _scale_read_ms(args.n),
        "display_update_ms": _display_update_ms(args.n),
        "print_queue_recovery_s": _print_queue_recovery_s(args.recovery_runs, args.retry_interval),
        "serial_line": "9600 baud 8N1 (pseudo-terminal with line timing)",
    }


def _median_ms(run: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def _render_once() -> Callable[[], object]:
    from peripherals.escpos_codec import encode_receipt
    from pos_core.basket import Basket, TaxRules
    from pos_core.catalogue import Product, Sku
    from pos_core.receipt import StoreHeader, layout_receipt
    from pos_core.sale import Sale
    from pos_core.tax import TaxClass

    rules = TaxRules("EUR", {"std": TaxClass("std", "Standard", 190_000), "red": TaxClass("red", "Reduced", 70_000)})
    basket = Basket(rules)
    for i in range(13):  # 13 lines in two tax classes lay out as exactly 30 printed rows
        tax = "std" if i % 2 else "red"
        basket.add(Product(Sku(f"S{i}"), f"40000000{i:05d}", f"Item number {i} Müsli", 100 + i * 37, tax))
    store = StoreHeader("Bench Market", ("1 Test Street", "Münster"))

    def render() -> bytes:
        sale = Sale.from_basket(basket, sale_id="S-1", register="R1", cashier_id="c1",
                                created_at="2026-01-01T10:00:00+01:00", cash_tendered=50_000)  # fmt: skip
        return encode_receipt(layout_receipt(sale, store, "Ana"))

    return render


def _scale_read_ms(n: int) -> float:
    from peripherals.fakes.scale import FakeScale
    from peripherals.scale import open_scale
    from peripherals.scale_codec import ScaleReading, WeightState

    with FakeScale("toledo8217") as fake:
        fake.reading = ScaleReading(WeightState.STABLE, 1234)
        scale = open_scale(f"serial:{fake.device}?baudrate=9600", "toledo8217")

        def read() -> None:
            if not scale.read_weight().sellable:
                raise RuntimeError("the fake scale did not give a stable weight")

        return _median_ms(read, n)


def _display_update_ms(n: int) -> float:
    from peripherals.fakes.line_display import FakeLineDisplay
    from peripherals.line_display import open_display

    with FakeLineDisplay("epson") as fake:
        display = open_display(f"serial:{fake.device}?baudrate=9600", "epson")
        display.show("Welcome", "")
        fake.wait_for_screen("Welcome", "")
        items = ["Bananas 1.234 kg", "Milk 1 L", "Rye bread 750 g", "Coffee beans 1 kg", "Eggs x 10"]
        counter = iter(range(1, 10**9))

        def update() -> None:  # a scan: a new item on the upper line, the new total below
            i = next(counter)
            upper, lower = items[i % len(items)], f"TOTAL EUR {i * 1.29:.2f}"
            display.show(upper, lower)
            fake.wait_for_screen(upper, lower)

        return _median_ms(update, n)


def _print_queue_recovery_s(runs: int, retry_interval: float) -> float:
    from peripherals.fakes.network_printer import FakeNetworkPrinter
    from peripherals.print_queue import PrintQueue
    from peripherals.printer import open_printer
    from pos_core.receipt import ReceiptRow

    logging.getLogger("peripherals.print_queue").setLevel(logging.ERROR)  # "job waits" is the point here
    jobs = 10
    rows = [ReceiptRow(f"Line {i}") for i in range(30)]
    phases = random.Random(4)  # noqa: S311 - picks moments in a cycle, not keys
    times = []
    with FakeNetworkPrinter() as fake, tempfile.TemporaryDirectory() as folder:
        printer = open_printer(f"tcp:127.0.0.1:{fake.port}")
        queue = PrintQueue(Path(folder), printer.send_raw)
        for run in range(runs):
            fake.stop()
            for _ in range(jobs):
                queue.enqueue_receipt(rows)
            stop = threading.Event()
            retrier = threading.Thread(target=_retry, args=(queue, retry_interval, stop), daemon=True)
            retrier.start()
            stop.wait(phases.uniform(0, retry_interval))  # the printer comes back at any moment of the cycle
            fake.start()
            start = time.perf_counter()
            fake.wait_for_jobs(jobs * (run + 1), timeout=30)
            times.append(time.perf_counter() - start)
            stop.set()
            retrier.join()
    return round(statistics.median(times), 3)


def _retry(queue: PrintQueue, interval: float, stop: threading.Event) -> None:
    """The register's retry timer: drain now and every ``interval`` until the queue is empty."""
    while not stop.is_set() and queue.drain().remaining:
        stop.wait(interval)
