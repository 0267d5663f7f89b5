"""One thread per device, running its blocking calls one after another.

The register awaits results with ``asyncio.wrap_future(worker.submit(printer.print_receipt, rows))``
so neither the Qt thread nor the asyncio loop ever waits on a device. One thread per device keeps
a device's jobs in submission order (a drawer kick never overtakes the receipt it belongs to)
while a slow printer never delays the scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from peripherals.errors import DeviceClosed

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class DeviceWorker:
    """Runs submitted calls in order on one thread named ``device-<name>``."""

    def __init__(self, name: str) -> None:
        self.name = name
        # One worker thread is exactly "in order, off the caller's thread"; the executor adds
        # correct Future handling and cancellation on shutdown.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"device-{name}")
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; the future holds its result or its exception.

        Raises:
            DeviceClosed: the worker was closed.
        """
        if self._closed:
            raise DeviceClosed(f"The {self.name} is shut down; restart the register to use it again.")
        try:
            return self._executor.submit(fn, *args, **kwargs)
        except RuntimeError as exc:  # closed by another thread between the check and the submit
            raise DeviceClosed(f"The {self.name} is shut down; restart the register to use it again.") from exc

    def close(self, *, cancel_pending: bool = False, wait: bool = True) -> None:
        """Stop taking work; by default finish what was queued (a receipt is never dropped silently).

        With ``cancel_pending`` queued calls that have not started are cancelled (their futures
        report ``CancelledError``); a call already running always finishes.
        """
        self._closed = True
        log.debug("closing device worker %s (cancel_pending=%s)", self.name, cancel_pending)
        self._executor.shutdown(wait=wait, cancel_futures=cancel_pending)

    def __enter__(self) -> DeviceWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
