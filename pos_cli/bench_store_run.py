"""One run of ``pos bench store``: a fresh store, the real server in its own process, the load.

See ``pos_cli.bench_store`` for what each figure means.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pos_cli.bench_store_clients import (
    BenchFailed,
    Endpoint,
    FeedWatcher,
    Lane,
    Storefront,
    Timings,
    open_endpoint,
    open_feed,
    sale_templates,
)
from pos_core.basket import TaxRules
from pos_core.catalogue import Product, Sku
from pos_core.errors import PosError
from pos_core.tax import TaxClass
from store_server import heap

PIN = "1357"
HOT = 50
"""Products the storefront reserves (and lanes sometimes sell), with little stock each."""
HOT_STOCK = 40
STOCK = 1_000_000
TAX_CLASSES = [("reduced", "Reduced rate", 70_000), ("standard", "Standard rate", 190_000)]
TEMPLATES = 2_000
WARMUP_S = 1.0
SETTLE_S = 10.0
STOREFRONT_SHARE = 0.3
LISTENING = re.compile(r"listening on ws://[^:]+:(\d+)")
ERROR_LINE = re.compile(r"^\S+ \S+ (?:ERROR|CRITICAL) .*$", re.MULTILINE)
"""A log line at ERROR or above, as ``pos`` formats them (``%(asctime)s %(levelname)s ...``)."""


@dataclass(frozen=True, slots=True)
class BenchSettings:
    db: str | None
    lanes: int
    duration_s: float
    skus: int
    seed: int
    rate: float
    writer: str = "process"
    writer_cpu: str = "auto"


@dataclass(frozen=True, slots=True)
class _Seed:
    """The bench store, in the shape ``init_store`` takes (products are imported in bulk after)."""

    name: str = "Bench Store"
    currency: str = "EUR"
    prices_include_tax: bool = True
    address_lines: tuple[str, ...] = ("1 Bench Road",)
    tax_classes: tuple[tuple[str, str, int], ...] = tuple(TAX_CLASSES)
    categories: tuple[str, ...] = ()
    products: tuple[Any, ...] = ()
    cashiers: tuple[tuple[str, str], ...] = (("Bench Cashier", PIN),)


def run_bench(settings: BenchSettings) -> dict[str, object]:
    """Set up, run both phases, check the books; the figures as one dict."""
    with tempfile.TemporaryDirectory(prefix="pos-bench-") as tmp, _database(settings.db, Path(tmp)) as (url, kind):
        raw = sqlite_raw_commits_per_s(Path(tmp) / "raw.db", seconds=1.0)
        loop_ms = cpu_loop_ms()
        products = _catalogue(settings.skus, random.Random(settings.seed))  # noqa: S311 - picks load data, not secrets
        tokens = _prepare(url, products)
        with _server(url, Path(tmp), settings) as (server, port):
            figures = asyncio.run(_drive(settings, port, tokens, products, server.pid))
        figures.update(_books(url))
        figures["server_errors"] = len(server_errors((Path(tmp) / "server.log").read_text(errors="replace")))
    return {
        **figures,
        "sqlite_raw_commits_per_s": round(raw, 1),
        "cpu_loop_ms": loop_ms,
        "db": kind,
        "skus": settings.skus,
        "lanes": settings.lanes,
        "duration_s": settings.duration_s,
        "rate": settings.rate,
        "writer": settings.writer,
        "writer_cpu": settings.writer_cpu,
    }


def server_errors(log: str) -> list[str]:
    """The ERROR and CRITICAL lines of a server's log (its writer process logs to the same
    stream), each printed to stderr: a run whose server failed somewhere says so, even when
    every command was answered (a batch of sales that fell back to one by one, say)."""
    found = ERROR_LINE.findall(log)
    for line in found:
        print(f"server: {line}", file=sys.stderr)
    return found


def sqlite_raw_commits_per_s(path: Path, seconds: float) -> float:
    """Commits a second of a plain sqlite3 loop, one small insert each, WAL and ``synchronous=FULL``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES ('sale')")
            conn.execute("COMMIT")
            done += 1
        return done / (time.perf_counter() - start)
    finally:
        conn.close()


@contextmanager
def _database(given: str | None, tmp: Path) -> Iterator[tuple[str, str]]:
    """A fresh database URL: a SQLite file in ``tmp``, or a new database on the given server."""
    if given is None:
        yield f"sqlite:///{tmp / 'store.db'}", "sqlite"
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(given)
    if url.get_backend_name() != "postgresql":
        raise PosError("--db must be a postgresql+psycopg:// URL; without it the bench uses a fresh SQLite file.")
    name = f"pos_bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise PosError(f"Cannot reach PostgreSQL at {url.render_as_string()}: {exc}".strip()) from None
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False), "postgresql"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _catalogue(skus: int, rng: random.Random) -> list[Product]:
    classes = [code for code, _, _ in TAX_CLASSES]
    return [
        Product(Sku(f"B{n:07d}"), f"2{n:012d}", f"Bench product {n}", rng.randint(49, 4999), rng.choice(classes))
        for n in range(skus)
    ]


def _prepare(url: str, products: list[Product]) -> tuple[str, str]:
    """Create the store and its catalogue; a register and a storefront token."""
    from store_server.db.engine import open_database
    from store_server.usecases.catalogue_import import ImportedProduct, import_products
    from store_server.usecases.credentials import issue_token
    from store_server.usecases.store import init_store

    init_store(url, demo=False, seed=_Seed())
    imported = [
        ImportedProduct(p.sku, p.barcode, p.name, None, p.price, p.tax_class, HOT_STOCK if n < HOT else STOCK)
        for n, p in enumerate(products)
    ]
    db = open_database(url)
    try:
        with db.write() as session:
            import_products(session, imported)
        with db.write() as session:
            return issue_token(session, "register", "bench lanes"), issue_token(session, "storefront", "bench shop")
    finally:
        db.close()


@contextmanager
def _server(url: str, tmp: Path, settings: BenchSettings) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``pos store serve`` on 127.0.0.1, any free port, no mDNS; stopped with SIGINT at the end."""
    command = [sys.executable, "-m", "pos_cli.main", "store", "serve", "--db", url]
    command += ["--data-dir", str(tmp), "--host", "127.0.0.1", "--port", "0", "--no-mdns"]
    command += ["--writer", settings.writer, "--writer-cpu", settings.writer_cpu]
    log = tmp / "server.log"
    with log.open("w") as errors:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = LISTENING.search(line)
        if found is None:
            server.wait(timeout=30)
            raise BenchFailed(f"The store server did not start: {line.strip() or log.read_text().strip()}")
        yield server, int(found.group(1))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _drive(
    settings: BenchSettings, port: int, tokens: tuple[str, str], products: list[Product], server_pid: int
) -> dict[str, object]:
    rng = random.Random(settings.seed)  # noqa: S311 - picks load data, not secrets
    rules = TaxRules("EUR", {code: TaxClass(code, name, rate) for code, name, rate in TAX_CLASSES})
    templates = sale_templates(products[HOT:], rules, products[:HOT], rng, TEMPLATES)
    base = f"ws://127.0.0.1:{port}"
    feed = await open_feed(f"{base}/feed", tokens[1])
    endpoints: list[Endpoint] = []
    try:
        lanes = []
        for n in range(settings.lanes):
            endpoint, _welcome = await open_endpoint(f"{base}/register", tokens[0])
            endpoints.append(endpoint)
            lane = Lane(endpoint, templates, random.Random(settings.seed * 1000 + n))  # noqa: S311 - picks load data, not secrets
            await lane.login(PIN)
            lanes.append(lane)
        storefront = await _storefront(f"{base}/storefront", tokens[1], [str(p.sku) for p in products[:HOT]], rng)
        if storefront is not None:
            endpoints.append(storefront.endpoint)
        await _closed_loop(lanes, storefront, WARMUP_S, Timings())
        await _settle(feed, Timings())
        heap.settle()  # the catalogue and templates: no full collection walks them mid-measure

        busy = Timings()
        cpu = _Cpu(server_pid)
        elapsed = await _closed_loop(lanes, storefront, settings.duration_s, busy)
        server_cpu, client_cpu = cpu.shares()
        await _settle(feed, busy)

        paced = Timings()
        feed.lags_ms = []
        await _paced(lanes, storefront, settings, paced)
        await _settle(feed, paced)
        lags, feed.lags_ms = feed.lags_ms, None
        errors = busy.errors + paced.errors
        if errors:
            raise BenchFailed(f"{len(errors)} commands failed, the first: {errors[0]}")
        return {
            "sales_per_s": round(busy.sales / elapsed, 1),
            "commands_per_s": round(busy.commands / elapsed, 1),
            "storefront_share": round(1 - busy.sales / busy.commands, 3) if busy.commands else 0.0,
            "ack_p50_ms": _percentile(paced.acks_ms, 50),
            "ack_p99_ms": _percentile(paced.acks_ms, 99),
            "feed_lag_p50_ms": _percentile(lags, 50),
            "feed_lag_p99_ms": _percentile(lags, 99),
            "offered_commands_per_s": settings.rate,
            "reservations": "measured" if storefront is not None else "not measured: the server has no /storefront",
            "reservations_granted": storefront.granted if storefront else 0,
            "reservations_refused": storefront.refused if storefront else 0,
            "feed_gaps": feed.gaps,
            "server_cpu_pct": server_cpu,
            "client_cpu_pct": client_cpu,
            "rss_mb": _peak_rss_mb(server_pid),
            "writer_cpus": writer_cpus(server_pid),
        }
    finally:
        await feed.close()
        for endpoint in endpoints:
            await endpoint.close()


async def _storefront(url: str, token: str, hot: list[str], rng: random.Random) -> Storefront | None:
    """The storefront's command connection, or None when this server has no ``/storefront``."""
    from websockets.exceptions import InvalidStatus

    try:
        endpoint, _ = await open_endpoint(url, token)
    except InvalidStatus as exc:
        if exc.response.status_code == 404:
            return None
        raise
    return Storefront(endpoint, hot, rng)


async def _closed_loop(lanes: list[Lane], storefront: Storefront | None, seconds: float, timings: Timings) -> float:
    """Every lane sells as fast as it is answered; the storefront keeps its share of commands.

    Each sale sent earns the storefront 3/7 of a command (its 30 %), counted when sent so
    commands in flight count too; a storefront task waits for a whole one, woken alone.
    """
    start = time.perf_counter()
    end = start + seconds
    credits = asyncio.Semaphore(0)
    owed = 0.0

    async def lane_loop(lane: Lane) -> None:
        nonlocal owed
        while time.perf_counter() < end:
            owed += STOREFRONT_SHARE / (1 - STOREFRONT_SHARE)
            while owed >= 1:
                owed -= 1
                credits.release()
            await lane.sell(timings)

    async def storefront_loop(shop: Storefront) -> None:
        while True:
            await credits.acquire()
            if time.perf_counter() >= end:
                return
            await shop.step(timings)

    # A web shop's backend has as many shoppers' commands in flight as it needs to keep its
    # share: with fewer (it had 4) it fell to about 15 % and the lanes' sales took the rest.
    shops = [asyncio.create_task(storefront_loop(storefront)) for _ in lanes] if storefront else []
    await asyncio.gather(*(lane_loop(lane) for lane in lanes))
    for _ in shops:
        credits.release()  # wakes each task that still waits, to see the time is up
    await asyncio.gather(*shops)
    return time.perf_counter() - start


async def _paced(lanes: list[Lane], storefront: Storefront | None, settings: BenchSettings, timings: Timings) -> None:
    """``rate`` commands a second at fixed times, whatever the replies do (open loop)."""
    rng = random.Random(settings.seed + 1)  # noqa: S311 - picks load data, not secrets
    interval = 1 / settings.rate
    start = time.perf_counter()
    total = int(settings.duration_s * settings.rate)
    running: set[asyncio.Task[None]] = set()
    lane_turn = 0
    for n in range(total):
        planned = start + n * interval
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if storefront is not None and rng.random() < STOREFRONT_SHARE:
            task = asyncio.create_task(storefront.step(timings, planned))
        else:
            task = asyncio.create_task(lanes[lane_turn % len(lanes)].sell(timings, planned))
            lane_turn += 1
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running)


async def _settle(feed: FeedWatcher, timings: Timings) -> None:
    if not await feed.caught_up(timings.last_seq, SETTLE_S):
        raise BenchFailed(f"The feed did not deliver seq {timings.last_seq} within {SETTLE_S:g} s.")


class _Cpu:
    """CPU used by the server (its process and its writer process) and by this one since it was
    made, as % of one core."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = time.perf_counter()
        self.server = _server_cpu_s(pid)
        self.client = _own_cpu_s()

    def shares(self) -> tuple[float, float]:
        wall = time.perf_counter() - self.wall
        server = (_server_cpu_s(self.pid) - self.server) / wall
        client = (_own_cpu_s() - self.client) / wall
        return round(server * 100, 1), round(client * 100, 1)


def proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_processes(pid: int) -> list[int]:
    """The server and the processes it started (its database writer, multiprocessing's
    resource tracker), read from ``/proc``."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(proc_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
    return found


def writer_cpus(pid: int) -> list[int]:
    """The CPUs the server's writer process may run on (none without one, or without affinity)."""
    for each in server_processes(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{each}/cmdline").read_bytes() and hasattr(os, "sched_getaffinity"):
                return sorted(os.sched_getaffinity(each))
        except OSError:  # gone meanwhile
            continue
    return []


def _server_cpu_s(pid: int) -> float:
    total = 0
    for each in server_processes(pid):
        try:
            fields = proc_stat(each)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb(pid: int) -> float:
    """The server's peak resident memory: the sum of each of its processes' peaks."""
    total_kib = 0
    for each in server_processes(pid):
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue
        total_kib += sum(int(line.split()[1]) for line in lines if line.startswith("VmHWM:"))
    return round(total_kib / 1024, 1)


def cpu_loop_ms(rounds: int = 3) -> float:
    """How long this machine takes for a fixed pure-Python loop (a million additions), best of
    ``rounds``: to compare figures measured on different machines."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for n in range(1_000_000):
            total += n
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def _percentile(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1], 2)


def _books(url: str) -> dict[str, object]:
    """Oversells and ledger mismatches, read from the database after the server stopped."""
    from sqlalchemy import text

    from store_server.db.engine import open_database

    db = open_database(url)
    try:
        with db.read() as session:
            grants = session.execute(
                text("SELECT payload FROM feed_events WHERE type = 'stock.changed' AND payload LIKE :reason"),
                {"reason": '%"reason": "reservation"%'},
            ).scalars()
            oversells = sum(1 for payload in grants if json.loads(payload)["available"] < 0)
            mismatches = session.execute(text(_LEDGER_CHECK)).scalar_one()
            sales = session.execute(text("SELECT count(*) FROM sales")).scalar_one()
    finally:
        db.close()
    return {"oversells": oversells, "ledger_mismatches": int(mismatches), "sales_recorded": int(sales)}


_LEDGER_CHECK = """
SELECT count(*) FROM stock_levels l LEFT JOIN (
  SELECT sku, location,
    sum(CASE WHEN to_bucket IN ('on_hand', 'reserved') THEN quantity ELSE 0 END)
  - sum(CASE WHEN from_bucket IN ('on_hand', 'reserved') THEN quantity ELSE 0 END) AS on_hand,
    sum(CASE WHEN to_bucket = 'reserved' THEN quantity ELSE 0 END)
  - sum(CASE WHEN from_bucket = 'reserved' THEN quantity ELSE 0 END) AS reserved
  FROM stock_movements GROUP BY sku, location
) m ON m.sku = l.sku AND m.location = l.location
WHERE coalesce(m.on_hand, 0) <> l.on_hand OR coalesce(m.reserved, 0) <> l.reserved
"""
