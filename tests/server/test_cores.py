"""A CPU of its own for the database writer (store_server/db/cores.py).

Pinning changes the threads of the process that starts the writer, so the real check runs in
a child Python process: the test process itself keeps every CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from store_server.db.cores import chosen_writer_cpu, usable_cpus, writer_cpu_for
from store_server.errors import StoreError
from tests.server.support import prepare_store

ROOT = Path(__file__).parents[2]

SERVER = """
import asyncio, json, os, signal, sys
from store_server.db.engine import open_database
from store_server.errors import DatabaseUnavailable
from tests.server.test_cores import note

def ours():
    return {tid: sorted(os.sched_getaffinity(int(tid))) for tid in os.listdir("/proc/self/task")}

async def main(url, cpu):
    db = open_database(url, writer_process=True, writer_cpu=cpu)
    first = await db.run_write(note, "one")
    os.kill(first[0], signal.SIGKILL)  # a new writer takes over, pinned the same
    try:
        second = await db.run_write(note, "two")
    except DatabaseUnavailable:  # sent before the old one's end was seen: the next starts a new one
        second = await db.run_write(note, "two")
    threads = ours()
    await asyncio.to_thread(db.close)
    print(json.dumps({"first": first, "second": second, "server_threads": threads}))

asyncio.run(main(sys.argv[1], None if sys.argv[2] == "none" else int(sys.argv[2])))
"""


def note(session: Session, body: str) -> tuple[int, list[int]]:
    """A write made in the writer process: its process id and the CPUs it may use."""
    session.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT, pid INTEGER)"))
    session.execute(text("INSERT INTO notes VALUES (:b, :p)"), {"b": body, "p": os.getpid()})
    return os.getpid(), sorted(os.sched_getaffinity(0))


def _serve(url: str, cpu: int | None) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SERVER, url, "none" if cpu is None else str(cpu)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_writer_gets_the_highest_cpu_when_the_server_keeps_another() -> None:
    assert writer_cpu_for({0, 1}) == 1
    assert writer_cpu_for([2, 5, 7]) == 7
    assert writer_cpu_for({0}) is None
    assert writer_cpu_for(set()) is None


def test_writer_cpu_takes_auto_off_or_a_cpu_the_server_may_use() -> None:
    assert chosen_writer_cpu("auto", {0, 1}) == 1
    assert chosen_writer_cpu("auto", {3}) is None
    assert chosen_writer_cpu("off", {0, 1}) is None
    assert chosen_writer_cpu("0", {0, 1}) == 0
    for asked, usable, said in [
        ("7", {0, 1}, "--writer-cpu 7: this server may run on CPUs 0, 1 only; pass one of them, or off."),
        ("3", {3}, "--writer-cpu 3: this server may run on one CPU only (3); pass off."),
        ("fast", {0, 1}, "--writer-cpu takes auto, off or a CPU number, not 'fast'."),
        ("-1", {0, 1}, "--writer-cpu takes auto, off or a CPU number, not '-1'."),
        ("1", set(), "--writer-cpu 1: this system cannot keep a process to one CPU; pass off."),
    ]:
        with pytest.raises(StoreError) as refused:
            chosen_writer_cpu(asked, usable)
        assert str(refused.value) == said


def test_a_pinned_writer_and_every_new_one_run_on_their_cpu_and_the_server_off_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    prepare_store(url)
    usable = sorted(usable_cpus())
    cpu = writer_cpu_for(usable)
    if cpu is None:  # a one-CPU machine: nothing to give, and asking for it says so
        with pytest.raises(StoreError):
            chosen_writer_cpu(str(usable[0]), usable)
        return
    seen = _serve(url, cpu)
    assert seen["first"][1] == [cpu]  # type: ignore[index]
    assert seen["second"][1] == [cpu]  # type: ignore[index]
    assert seen["first"][0] != seen["second"][0]  # type: ignore[index]
    threads = seen["server_threads"]
    assert isinstance(threads, dict)
    assert len(threads) >= 2  # the loop's and the pipe's, at least
    assert all(cpus == [c for c in usable if c != cpu] for cpus in threads.values()), threads


def test_unpinned_the_writer_and_the_server_may_use_every_cpu(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    prepare_store(url)
    usable = sorted(usable_cpus())
    seen = _serve(url, None)
    assert seen["first"][1] == usable  # type: ignore[index]
    threads = seen["server_threads"]
    assert isinstance(threads, dict)
    assert all(cpus == usable for cpus in threads.values()), threads
