"""``pos bench AREA [--json]``: measurements as one JSON object, one sub-command per area.

Each area is a module with ``HELP``, ``add_arguments(parser)`` and ``measure(args) -> dict``;
adding ``pos bench store`` means writing ``pos_cli/bench_store.py`` and one line in ``AREAS``.
The modules must import only the standard library at the top, so ``pos --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
from types import ModuleType

AREAS: dict[str, str] = {
    "devices": "pos_cli.bench_devices",
    "store": "pos_cli.bench_store",
}
"""Sub-command -> module implementing it."""


def _area(name: str) -> ModuleType:
    return importlib.import_module(AREAS[name])


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pos bench ...`` on the top-level sub-parsers."""
    bench = sub.add_parser("bench", help="measure the system: figures for docs/benchmarks.md")
    bench_sub = bench.add_subparsers(dest="bench_area", required=True, metavar="AREA")
    for name in AREAS:
        area = _area(name)
        parser = bench_sub.add_parser(name, help=area.HELP)
        parser.add_argument("--json", action="store_true", help="print one JSON object (default: one figure a line)")
        area.add_arguments(parser)


def machine_facts() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def run(args: argparse.Namespace) -> int:
    figures: dict[str, object] = {**_area(args.bench_area).measure(args), **machine_facts()}
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<24} {value}")
    return 0
