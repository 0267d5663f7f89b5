"""The Qt binding itself behaves: guards against binding bugs we have been bitten by."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    as_bool = Signal(bool)
    as_object = Signal(object)


def test_emitting_bools_keeps_the_reference_counts_of_true_and_false(qapp: object) -> None:
    # PySide6 6.12.0 lost a reference to True/False per emission; the register aborted
    # with "bool_dealloc" after a day of selling (pyproject pins PySide6 below 6.12).
    emitter = _Emitter()
    seen: list[object] = []
    emitter.as_bool.connect(seen.append)
    emitter.as_object.connect(seen.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(20):
        emitter.as_bool.emit(True)
        emitter.as_object.emit(False)
    seen.clear()
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before
