"""The reference consumer against a feed that keeps breaking: it ends with exactly the store's levels.

Connections are cut at random byte counts by a proxy (seeded; ``POS_FEED_CUTS`` sets how many),
including mid-snapshot and mid-replay, while two lanes keep selling. Every seq is seen once,
in order, except those a snapshot stood in for.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from store_server.feed_client import Backoff, FeedConsumer, FeedEvent
from store_server.feed_endpoint import FeedSettings
from store_server.feed_mirror import FeedMirror, LevelKey, Snapshot, StockFigures
from store_server.server import StoreServer
from tests.server.feed_support import (
    CuttingProxy,
    Lanes,
    catalogue,
    db_levels,
    db_position,
    feed_server,
    many_skus,
    new_epoch,
    sale_of,
)
from tests.server.support import register, run

CUTS = int(os.environ.get("POS_FEED_CUTS", "12"))
STORE = many_skus(120)
PRODUCTS = catalogue(STORE)
SNAPSHOT_THRESHOLD = 30
SOLD_AFTER_BACKUP = ("SKU-00104", "main")


@dataclass
class Outcome:
    timeline: list[tuple[str, int]]
    mirror: FeedMirror
    levels: dict[LevelKey, StockFigures]
    position: tuple[str, int]
    lost: Counter[str]
    cuts: int
    sales: int


class Timeline:
    """What a consumer was handed, in order: ("event", seq) and ("snapshot", as_of_seq)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int]] = []
        self._progressed = asyncio.Event()

    def on_event(self, event: FeedEvent) -> None:
        self.entries.append(("event", event.seq))
        self._progressed.set()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.entries.append(("snapshot", snapshot.as_of_seq))
        self._progressed.set()

    async def wait_for(self, condition: Callable[[], bool], wait_s: float = 30.0) -> None:
        """Until ``condition`` holds, checked each time the consumer hands something over."""
        async with asyncio.timeout(wait_s):
            while not condition():
                self._progressed.clear()
                await self._progressed.wait()


def _chaos(url: str, *, seed: int, threshold: int, choices: tuple[str, ...], phases: tuple[str, ...]) -> Outcome:
    async def scenario() -> Outcome:
        settings = FeedSettings(max_unacked=8, snapshot_threshold=threshold, batch=5, snapshot_batch=16)
        async with feed_server(url, seed=STORE, heartbeat_s=0.2, settings=settings) as (server, tokens):
            lanes = Lanes(server, tokens.register, PRODUCTS, random.Random(seed))
            gates = random.Random(seed + 1)
            timeline = Timeline()

            async def gate() -> None:
                """Sometimes let the store move on before the consumer gets back: a replay, or a snapshot."""
                gap = {"now": 0, "replay": 12, "snapshot": threshold + 3}[gates.choice(choices)]
                if gap and lanes.sales:
                    await lanes.wait_committed(consumer.mirror.last_seq + gap)

            proxy = CuttingProxy(server.port, gates, budget=(40, 6000), gate=gate)
            consumer = FeedConsumer(
                f"ws://127.0.0.1:{await proxy.start()}/feed",
                tokens.storefront,
                on_event=timeline.on_event,
                on_snapshot=timeline.on_snapshot,
                backoff=Backoff(first_s=0.005, most_s=0.05),
                ack_delay_s=0.01,
            )
            stop = asyncio.Event()
            follower = asyncio.create_task(consumer.run(stop))
            # The first snapshot is as of seq 0: nothing is sold before it completes.
            await timeline.wait_for(lambda: any(kind == "snapshot" for kind, _ in timeline.entries))

            def cutting() -> bool:
                seen = all(consumer.lost[phase] for phase in phases)
                return proxy.cuts < CUTS * 10 and (proxy.cuts < CUTS or not seen)

            await asyncio.wait_for(lanes.run(2, lambda: cutting() or lanes.sales < 40), 60)
            proxy.cutting = False
            position = await asyncio.to_thread(db_position, url)
            await timeline.wait_for(lambda: consumer.mirror.last_seq >= position[1])
            stop.set()
            await follower
            await proxy.stop()
            levels = await asyncio.to_thread(db_levels, url)
            return Outcome(timeline.entries, consumer.mirror, levels, position, consumer.lost, proxy.cuts, lanes.sales)

    return run(scenario())


def _check(outcome: Outcome, phases: tuple[str, ...]) -> None:
    epoch, final = outcome.position
    assert outcome.cuts >= CUTS
    for phase in phases:
        assert outcome.lost[phase] >= 1, f"no connection was cut during {phase}: {outcome.lost}"
    # Every seq once, in order; a snapshot may stand in for the seqs up to its as_of_seq.
    at: int | None = None
    for kind, seq in outcome.timeline:
        if kind == "snapshot":
            assert at is None or seq >= at, f"a snapshot went back from {at} to {seq} within one epoch"
        else:
            assert at is not None, "an event came before the first snapshot"
            assert seq == at + 1, f"event {seq} after {at}"
        at = seq
    assert at == final
    assert (outcome.mirror.epoch, outcome.mirror.last_seq) == (epoch, final)
    assert outcome.mirror.levels == outcome.levels


def test_consumer_cut_at_random_points_ends_with_the_store_levels(sqlite_url: str) -> None:
    phases = ("snapshot", "replay", "live")
    outcome = _chaos(
        sqlite_url, seed=20261127, threshold=SNAPSHOT_THRESHOLD, choices=("now", "replay", "snapshot"), phases=phases
    )
    _check(outcome, phases)
    assert sum(kind == "snapshot" for kind, _ in outcome.timeline) >= 2  # too far behind, more than once


def test_consumer_cut_at_random_points_sees_every_seq_once_when_it_can_replay(sqlite_url: str) -> None:
    phases = ("replay", "live")
    outcome = _chaos(sqlite_url, seed=7, threshold=10**9, choices=("now", "replay"), phases=phases)
    _check(outcome, phases)
    events = [seq for kind, seq in outcome.timeline if kind == "event"]
    assert [kind for kind, _ in outcome.timeline].count("snapshot") == 1
    assert events == list(range(1, outcome.position[1] + 1))


@pytest.mark.postgres
def test_consumer_cut_at_random_points_on_postgresql(pg_url: str) -> None:
    phases = ("snapshot", "replay")
    outcome = _chaos(
        pg_url, seed=99, threshold=SNAPSHOT_THRESHOLD, choices=("now", "replay", "snapshot"), phases=phases
    )
    _check(outcome, phases)


def test_restored_database_forces_a_snapshot_with_the_restored_levels(tmp_path: Path) -> None:
    """A backup restored under a new epoch: the consumer drops what it knew and takes the store's word."""
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"

    async def scenario() -> tuple[list[tuple[str, int]], FeedMirror, dict[LevelKey, StockFigures], str, StockFigures]:
        timeline = Timeline()
        async with feed_server(url, seed=STORE) as (server, tokens):
            port = server.port
            consumer = FeedConsumer(
                f"ws://127.0.0.1:{port}/feed",
                tokens.storefront,
                on_event=timeline.on_event,
                on_snapshot=timeline.on_snapshot,
                backoff=Backoff(first_s=0.01, most_s=0.1),
            )
            stop = asyncio.Event()
            follower = asyncio.create_task(consumer.run(stop))
            async with register(server, tokens.register) as reg:
                cashier = await reg.login()
                for n in range(5):
                    await reg.submit(sale_of(PRODUCTS, [("SKU-0001", 1), (f"SKU-{100 + n:05d}", 1)], cashier))
                    if n == 1:
                        await asyncio.to_thread(_backup, path, tmp_path / "backup.db")
            await timeline.wait_for(lambda: consumer.mirror.last_seq == 15)
            old_epoch, before = consumer.mirror.epoch, dict(consumer.mirror.levels)
        # The server is down; the consumer keeps retrying. Restore the backup with a new epoch.
        await asyncio.to_thread(_restore, tmp_path / "backup.db", path)
        epoch = await asyncio.to_thread(new_epoch, url)
        assert epoch != old_epoch
        again = StoreServer(url)
        await again.start(port=port)
        try:
            async with register(again, tokens.register) as reg:
                cashier = await reg.login()
                await reg.submit(sale_of(PRODUCTS, [("SKU-0002", 2)], cashier))  # seq 7 and 8
            await timeline.wait_for(lambda: consumer.mirror.epoch == epoch and consumer.mirror.last_seq == 8)
            stop.set()
            await follower
        finally:
            await again.stop()
        levels = await asyncio.to_thread(db_levels, url)
        return timeline.entries, consumer.mirror, levels, epoch, before[SOLD_AFTER_BACKUP]

    timeline, mirror, levels, epoch, before = run(scenario())
    snapshots = [seq for kind, seq in timeline if kind == "snapshot"]
    assert snapshots[0] == 0
    assert snapshots[1] in (6, 7, 8)  # as of the restored store, behind what the consumer had seen (15)
    assert mirror.epoch == epoch
    assert mirror.levels == levels
    assert before != levels[SOLD_AFTER_BACKUP]  # the sale after the backup is gone from the store and the mirror


def _backup(source: Path, target: Path) -> None:
    """An online, consistent copy, as the SQLite backup API makes."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore(backup: Path, target: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, target)
