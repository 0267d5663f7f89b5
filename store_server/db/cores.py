"""A CPU of its own for the database writer process.

Every write of the store goes through one thread of the writer process (``writer_process``),
so under load that thread is what the store waits for. On a two-core machine it shared both
cores with the server's event loop and whatever else runs there, and the scheduler took it off
a core whenever three threads wanted two: in ``pos bench store`` the writer's thread used 67 %
of a CPU while it was busy 90 % of the time. Given one CPU to itself, with the server's threads
kept on the others, the same store took about 5 % more sales a second, in interleaved runs
(docs/benchmarks.md).

The writer process pins itself before it starts a thread, so every thread it starts inherits
the CPU. The server moves its own threads off that CPU when it starts the writer; threads it
starts later inherit that too. Nothing here ever stops a store from serving: where the
operating system has no CPU affinity, or refuses it, the store runs unpinned and logs why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection

from store_server.errors import StoreError

log = logging.getLogger(__name__)


def usable_cpus() -> frozenset[int]:
    """The CPUs this process may run on (empty where the system cannot say)."""
    getter = getattr(os, "sched_getaffinity", None)
    return frozenset(getter(0)) if getter is not None else frozenset()


def writer_cpu_for(usable: Collection[int]) -> int | None:
    """The CPU to give the writer: the highest of ``usable``, if that leaves the server another."""
    return max(usable) if len(usable) >= 2 else None


def chosen_writer_cpu(asked: str, usable: Collection[int]) -> int | None:
    """The writer's CPU from ``--writer-cpu``: ``auto``, ``off`` or a CPU number.

    Raises:
        StoreError: a number that is not one of ``usable``, or the only one (the server needs another).
    """
    cpu = parsed_writer_cpu(asked)
    if asked == "auto":
        return writer_cpu_for(usable)
    if cpu is None:
        return None
    listed = ", ".join(map(str, sorted(usable)))
    if not usable:
        raise StoreError(f"--writer-cpu {cpu}: this system cannot keep a process to one CPU; pass off.")
    if len(usable) < 2:
        raise StoreError(f"--writer-cpu {cpu}: this server may run on one CPU only ({listed}); pass off.")
    if cpu not in usable:
        raise StoreError(f"--writer-cpu {cpu}: this server may run on CPUs {listed} only; pass one of them, or off.")
    return cpu


def parsed_writer_cpu(asked: str) -> int | None:
    """The CPU number ``--writer-cpu`` names; None for ``auto`` and ``off``.

    Raises:
        StoreError: anything else than auto, off or a CPU number.
    """
    if asked in ("auto", "off"):
        return None
    try:
        cpu = int(asked)
    except ValueError:
        cpu = -1
    if cpu < 0:
        raise StoreError(f"--writer-cpu takes auto, off or a CPU number, not {asked!r}.")
    return cpu


def pin_this_thread(cpu: int) -> bool:
    """Run the calling thread, and the threads it starts from now on, on ``cpu`` only."""
    return _set(0, {cpu}, f"the database writer on CPU {cpu}")


def keep_process_off(cpu: int) -> bool:
    """Move every thread of this process off ``cpu`` (those started later inherit it)."""
    others = set(usable_cpus()) - {cpu}
    if not others:
        return False
    try:
        threads = [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # no /proc: the calling thread, which starts the others
    done = True
    for tid in threads:  # every one, even after a refusal
        done = _set(tid, others, f"the server's threads off CPU {cpu}") and done
    if done:
        log.info("the database writer has CPU %s to itself; the server runs on CPUs %s", cpu, _listed(others))
    return done


def _set(tid: int, cpus: set[int], what: str) -> bool:
    setter = getattr(os, "sched_setaffinity", None)
    if setter is None:
        log.info("cannot run %s: this system has no CPU affinity", what)
        return False
    try:
        setter(tid, cpus)
    except ProcessLookupError:
        return True  # the thread ended meanwhile
    except OSError as exc:
        log.warning("cannot run %s (%s); running unpinned", what, exc.strerror)
        return False
    return True


def _listed(cpus: Collection[int]) -> str:
    return ",".join(map(str, sorted(cpus)))
