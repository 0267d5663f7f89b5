"""Settling the heap after start-up (store_server/heap.py), in a fresh interpreter each time:
freezing the test runner's own heap would change every test after it."""

from __future__ import annotations

import subprocess
import sys

_PROGRAM = """
import gc, weakref
from store_server import heap

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a

kept = cycle()
garbage = cycle()
gone = weakref.ref(garbage)
del garbage
gc.disable()  # only settle may collect before the checks below
heap.settle()
tracked = {id(o) for o in gc.get_objects()}
print(gone() is None, id(kept) in tracked, gc.get_freeze_count() > 0)
fresh = cycle()
print(id(fresh) in {id(o) for o in gc.get_objects()})
"""


def test_settle_collects_what_is_garbage_and_exempts_what_lives_from_later_collections() -> None:
    result = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=True, timeout=60)
    collected, still_walked, frozen = result.stdout.split()[:3]
    assert collected == "True", "cyclic garbage made before settle must be freed, not frozen"
    assert still_walked == "False", "a live object from start-up is still walked by full collections"
    assert frozen == "True"
    assert result.stdout.split()[3] == "True", "objects made after settle are collected as usual"
