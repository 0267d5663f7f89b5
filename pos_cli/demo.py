"""``pos demo``: the whole store on one machine, on loopback only.

A store server (embedded SQLite, demo data, mDNS on 127.0.0.1), the register window that
finds it by that advertisement, and the live storefront feed printed in this terminal. The
register's lane hardware is simulated here too (``DemoLane``): a scale and a customer display on
pseudo-terminals, the display's text echoed as ``[display]`` lines, and the card terminal
simulator on 127.0.0.1, all written into the demo's ``lane.json``. ``--headless`` swaps the
window for a simulated lane (cash only, no devices), for machines without a screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pos_cli.defaults import default_printer, sqlite_url
from pos_core.errors import PosError
from pos_core.protocol import FEED_PATH, REGISTER_PATH

if TYPE_CHECKING:
    from peripherals.fakes.line_display import FakeLineDisplay
    from peripherals.fakes.scale import FakeScale
    from peripherals.fakes.terminal_simulator import TerminalSimulator

LOOPBACK = "127.0.0.1"
DEMO_WEIGHT_G = 534
"""What the demo scale reads once goods settled on it."""
SETTLING_READS = 4
"""Weight requests answered "in motion" before the demo scale reads steady (about a second)."""
_LISTENING = re.compile(r"listening on (ws://\S+:(\d+))")
NO_DISPLAY_HINT = " Or run `pos demo --headless` for a simulated lane without a window."


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def ensure_token(data_dir: Path, url: str, kind: str, name: str) -> str:
    """The demo's saved credential of ``kind`` if the store still knows it, else a new one, saved 0600."""
    from store_server.db.engine import open_database
    from store_server.usecases.credentials import issue_token, verify_token

    path = data_dir / f"{kind}.token"
    saved = path.read_text().strip() if path.exists() else ""
    db = open_database(url)
    try:
        with db.write() as session:
            if saved and verify_token(session, saved) is not None:
                return saved
            token = issue_token(session, kind, name)
    finally:
        db.close()
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _pos(*args: str) -> list[str]:
    return [sys.executable, "-u", "-m", "pos_cli.main", *args]


async def _start_server(data_dir: Path, port: int) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        *_pos("store", "serve", "--data-dir", str(data_dir), "--host", LOOPBACK, "--port", str(port),
              "--mdns-interface", LOOPBACK),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while line := (await proc.stdout.readline()).decode():
                print(f"[server] {line.rstrip()}", flush=True)
                if found := _LISTENING.search(line):
                    asyncio.create_task(_relay(proc.stdout, "[server] "))  # noqa: RUF006 - ends with the process
                    return proc, found.group(1)
    except TimeoutError:
        pass
    await _stop(proc)
    raise PosError("The store server did not start; see the messages above.")


async def _relay(stream: asyncio.StreamReader, prefix: str) -> None:
    while line := await stream.readline():
        print(prefix + line.decode().rstrip(), flush=True)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Ask a child to stop as Ctrl-C would; insist after ten seconds."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class DemoLane:
    """The register's simulated hardware: a Toledo scale and an Epson customer display on ptys, and the
    card terminal simulator on 127.0.0.1 approving every payment, with the demo's ``lane.json``."""

    def __init__(self, data_dir: Path, *, step_delay: float = 0.8, echo: Callable[[str], None] | None = None) -> None:
        from peripherals.fakes.line_display import FakeLineDisplay
        from peripherals.fakes.scale import FakeScale
        from peripherals.fakes.terminal_simulator import TerminalSimulator
        from peripherals.scale_codec import ScaleReading, WeightState

        self.scale: FakeScale = FakeScale("toledo8217", settling=SETTLING_READS)
        self.scale.reading = ScaleReading(WeightState.STABLE, DEMO_WEIGHT_G)
        self.display: FakeLineDisplay = FakeLineDisplay("epson")
        self.terminal: TerminalSimulator = TerminalSimulator(default="approve", step_delay=step_delay)
        self._say = echo or _print
        self.lane_file = data_dir / "lane.json"
        self.lane_file.write_text(json.dumps(self.settings(), indent=2) + "\n")
        self._stop = threading.Event()
        self._echo = threading.Thread(target=self._echo_display, name="demo-display-echo", daemon=True)
        self._echo.start()

    def settings(self) -> dict[str, dict[str, str]]:
        """The ``lane.json`` that points the register at these fakes (the receipt printer stays a file)."""
        return {
            "scale": {"target": f"serial:{self.scale.device}", "protocol": "toledo", "unit": "kg"},
            "display": {"target": f"serial:{self.display.device}", "protocol": "epson"},
            "terminal": {"address": f"{LOOPBACK}:{self.terminal.port}"},
        }

    def _echo_display(self) -> None:
        shown = self.display.screen()
        while not self._stop.is_set():
            now = self.display.wait_for_change(shown, timeout=0.5)
            if now != shown:
                shown = now
                self._say(f"[display] {now[0].rstrip():<20} | {now[1].rstrip()}")

    def close(self) -> None:
        self._stop.set()
        self._echo.join(timeout=2)
        for fake in (self.scale, self.display, self.terminal):
            fake.close()


def _print(line: str) -> None:
    print(line, flush=True)


def _banner(data_dir: Path, url: str, headless: bool, lane: DemoLane | None = None) -> str:
    from store_server.demo_catalogue import DEMO_BARCODES_FOR_DOCS, demo_store

    store = demo_store()
    cashiers = ", ".join(f"{name} (PIN {pin})" for name, pin in store.cashiers)
    printer = default_printer(data_dir).removeprefix("file:")
    lines = [
        f"Demo store {store.name!r} at {url}, data in {data_dir}",
        f"Cashiers: {cashiers}",
        f"Try barcodes {DEMO_BARCODES_FOR_DOCS[0]} and {DEMO_BARCODES_FOR_DOCS[1]} (type them, then Enter).",
    ]
    if lane is not None:
        weighed = next(p for p in store.products if p.sold_by == "weight")
        from pos_core.weight import format_weight

        lines += [
            f"Weigh something: tap {weighed.name.removesuffix(' loose')!r} under Weigh (or type {weighed.barcode});"
            f" the demo scale settles on {format_weight(DEMO_WEIGHT_G)} after a moment.",
            f"Pay by card: press Pay, then the card button; the terminal simulator at {LOOPBACK}:{lane.terminal.port}"
            " prompts, then approves.",
            "The customer display shows below as [display] lines; devices are in "
            f"{lane.lane_file} (see `pos devices list --data-dir {data_dir}`).",
        ]
    lines += [
        f"Receipts print to {printer}; read them with `pos receipts --data-dir {data_dir}`.",
        "The storefront feed follows below. Ctrl-C stops everything."
        if not headless
        else "A simulated lane rings up sales; the storefront feed follows below.",
    ]
    return "\n".join(f"[demo] {line}" for line in lines)


async def _demo(data_dir: Path, *, headless: bool, sales: int, port: int) -> int:
    from pos_cli.commands import describe_event
    from pos_desktop.lane.sim import run_sim_lane
    from store_server.feed_client import FeedEvent, follow_feed
    from store_server.usecases.store import init_store

    url = sqlite_url(data_dir)
    await asyncio.to_thread(init_store, url, demo=True)
    register_token = await asyncio.to_thread(ensure_token, data_dir, url, "register", "Demo till")
    storefront_token = await asyncio.to_thread(ensure_token, data_dir, url, "storefront", "Demo web shop")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    server, server_url = await _start_server(data_dir, port if _port_is_free(port) else 0)
    children = [server]
    lane = None if headless or os.name != "posix" else DemoLane(data_dir)  # the fakes sit on ptys
    sales_seen = 0
    sales_wanted = sales
    all_sales_seen = asyncio.Event()

    def on_event(event: FeedEvent) -> None:
        nonlocal sales_seen
        print(f"[feed] #{event.seq:<5} {event.type:<15} {describe_event(event.type, event.data)}", flush=True)
        if event.type == "sale.completed":
            sales_seen += 1
            if sales_seen >= sales_wanted:
                all_sales_seen.set()

    def on_status(text: str) -> None:
        print(f"[feed] {text}", flush=True)

    try:
        print(_banner(data_dir, server_url, headless, lane), flush=True)
        feed_task = asyncio.create_task(
            follow_feed(server_url + FEED_PATH, storefront_token, _last_seq(data_dir), on_event, stop=stop,
                        on_status=on_status)
        )  # fmt: skip
        if headless:
            acknowledged = await run_sim_lane(server_url + REGISTER_PATH, register_token, sales, seed=os.getpid())
            sales_wanted = acknowledged
            if sales_seen >= sales_wanted:
                all_sales_seen.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_sales_seen.wait(), 30)
            print(f"[demo] {acknowledged} of {sales} simulated sales acknowledged; the feed showed {sales_seen}.")
            stop.set()
            await feed_task
            return 0 if acknowledged == sales == sales_seen else 1
        window = await asyncio.create_subprocess_exec(
            *_pos("register", "--data-dir", str(data_dir), "--mdns-interface", LOOPBACK, "--name", "Till 1")
        )  # the register finds the store by its mDNS advertisement, as it would in a shop
        children.append(window)
        closed = asyncio.create_task(window.wait())
        interrupted = asyncio.create_task(stop.wait())
        await asyncio.wait({closed, interrupted, feed_task}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await feed_task
        return 0
    finally:
        for child in reversed(children):
            await _stop(child)
        if lane is not None:
            lane.close()
        print("[demo] Stopped.", flush=True)


def _last_seq(data_dir: Path) -> int:
    """Show only what happens from now on; the store's history is in the database."""
    from store_server.db.engine import open_database
    from store_server.usecases.feed import feed_position

    db = open_database(sqlite_url(data_dir))
    try:
        with db.read() as session:
            return feed_position(session)[1]
    finally:
        db.close()


def run_demo(data_dir: Path, *, headless: bool, sales: int, port: int) -> int:
    """Run the demo until the window closes or Ctrl-C; returns the exit code."""
    from pos_desktop.display import display_problem

    if not headless and (problem := display_problem()):
        print(problem + NO_DISPLAY_HINT, file=sys.stderr)
        return 2
    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_demo(data_dir, headless=headless, sales=sales, port=port))
