"""``pos bench store``: the store server's throughput, latency and feed lag, over websockets.

The real server (``pos store serve``) runs in its own process on 127.0.0.1, port 0, mDNS off,
on a fresh database: a temporary SQLite file in WAL mode with ``synchronous=FULL`` (as every
store runs), or a temporary database made on the PostgreSQL server given with ``--db`` and
dropped afterwards. The catalogue has ``--skus`` products with stock. This process drives it
as ``--lanes`` registers and one storefront would, and prints one JSON object:

* ``sales_per_s``: lane sales acknowledged per second, unthrottled: every lane sends its next
  sale as soon as the last is acknowledged, the storefront reserving alongside (30 % of the
  commands), for ``--duration`` seconds. ``commands_per_s`` counts both;
  ``storefront_share`` is the storefront's part of them (0.3 when the mix held).
* ``ack_p50_ms`` / ``ack_p99_ms``: from a command's planned send time to its reply, at a fixed
  offered load of ``--rate`` commands a second (70 % lane sales of 1-5 lines, 30 % storefront
  reservations, each then committed or released).
* ``feed_lag_p50_ms`` / ``feed_lag_p99_ms``: from an event's ``at`` (recorded inside its
  transaction, so before the commit: an upper bound) to a feed consumer in this process
  receiving it, at the same fixed load. Same machine, same clock.
* ``oversells``: reservation grants that left less than nothing available, read from the
  database at the end (every grant's ``stock.changed`` event); must be 0.
* ``server_errors``: ERROR lines the server and its writer process logged during the run (each
  also printed to stderr); must be 0: a run can answer every command with a server failing
  underneath (a batch of sales falling back to one by one, say).
* ``sqlite_raw_commits_per_s``: a plain ``sqlite3`` loop inserting one row and committing, WAL
  and ``synchronous=FULL``, in the same temporary directory: the disk's ceiling.
* ``rss_mb``: the server's peak resident memory (its process and its database writer process,
  each one's peak, added up); ``server_cpu_pct`` / ``client_cpu_pct``: the CPU the server (both
  processes) and this load generator used in the unthrottled phase, in % of one core.
* ``cpu_loop_ms``: a million Python additions on this machine, best of three, to compare runs
  made on different machines (a slower core gives proportionally fewer sales a second).
* ``writer``: where the server wrote from (``--writer``: ``process``, its default, or ``thread``).
* ``writer_cpu``: what ``--writer-cpu`` asked for; ``writer_cpus``: the CPUs the writer process
  could run on at the end of the unthrottled phase, read from the system (empty without one).
"""

from __future__ import annotations

import argparse

HELP = "store server: sales/s, ack latency and feed lag over websockets from simulated lanes and a storefront"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help="postgresql+psycopg://USER@HOST/DB: make (and drop) a fresh database on that server; "
        "default: a fresh SQLite file",
    )
    parser.add_argument("--lanes", type=int, default=20, help="simulated registers (default %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default %(default)s)")
    parser.add_argument("--skus", type=int, default=10_000, help="products in the catalogue (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the load (default %(default)s)")
    parser.add_argument("--rate", type=float, default=500.0, help="commands/s of the fixed load (default %(default)s)")
    parser.add_argument(
        "--writer",
        choices=("process", "thread"),
        default="process",
        help="the server's database writer (`pos store serve --writer`; default %(default)s)",
    )
    parser.add_argument(
        "--writer-cpu",
        default="auto",
        metavar="auto|off|N",
        help="the writer process's own CPU (`pos store serve --writer-cpu`; default %(default)s)",
    )


def measure(args: argparse.Namespace) -> dict[str, object]:
    from pos_cli.bench_store_run import BenchSettings, run_bench
    from pos_core.errors import PosError

    if args.lanes < 1 or args.skus < 100 or not args.duration > 0 or not args.rate > 0:
        raise PosError("--lanes must be at least 1, --skus at least 100, --duration and --rate above 0.")
    settings = BenchSettings(
        db=args.db,
        lanes=args.lanes,
        duration_s=args.duration,
        skus=args.skus,
        seed=args.seed,
        rate=args.rate,
        writer=args.writer,
        writer_cpu=args.writer_cpu,
    )
    return run_bench(settings)
