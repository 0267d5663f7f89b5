"""Suite-wide rules."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _collect_garbage_only_on_the_main_thread() -> Iterator[None]:
    # The register does the same (pos_desktop/app/collector.py): a collection triggered on a
    # server or device thread could free Qt widgets off the GUI thread and crash the process.
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    gc.collect()
