"""Device calls run in order on the device's own thread, and results reach asyncio."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import CancelledError

import pytest

from peripherals.errors import DeviceClosed, DeviceUnavailable
from peripherals.worker import DeviceWorker


def test_jobs_run_in_order_off_the_calling_thread() -> None:
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 10

    with DeviceWorker("receipt printer") as worker:
        futures = [worker.submit(job, n) for n in range(20)]
        assert [f.result(timeout=5) for f in futures] == [n * 10 for n in range(20)]
    assert [n for n, _ in seen] == list(range(20))
    names = {name for _, name in seen}
    assert len(names) == 1
    [name] = names
    assert name.startswith("device-receipt printer")
    assert name != threading.current_thread().name


def test_a_blocked_device_does_not_block_the_caller_and_later_jobs_wait_their_turn() -> None:
    release = threading.Event()
    order: list[str] = []

    def slow() -> None:
        release.wait(5)
        order.append("slow")

    with DeviceWorker("printer") as worker:
        first = worker.submit(slow)
        second = worker.submit(order.append, "fast")
        assert not first.done()  # submit returned while the device is still busy
        assert not second.done()
        release.set()
        second.result(timeout=5)
    assert order == ["slow", "fast"]


def test_errors_travel_in_the_future() -> None:
    def fail() -> None:
        raise DeviceUnavailable("The receipt printer at 127.0.0.1:9 does not answer; check it is on and connected.")

    with DeviceWorker("printer") as worker:
        future = worker.submit(fail)
        with pytest.raises(DeviceUnavailable, match="does not answer"):
            future.result(timeout=5)
        assert worker.submit(lambda: "still works").result(timeout=5) == "still works"


def test_asyncio_awaits_device_calls_without_blocking_the_loop() -> None:
    release = threading.Event()

    async def main() -> list[str]:
        events: list[str] = []
        with DeviceWorker("printer") as worker:

            def print_job() -> str:
                release.wait(5)
                return "printed"

            printing = asyncio.wrap_future(worker.submit(print_job))
            await asyncio.sleep(0)  # the loop keeps running while the device works
            events.append("loop alive")
            release.set()
            events.append(await asyncio.wait_for(printing, 5))
        return events

    assert asyncio.run(main()) == ["loop alive", "printed"]


def test_close_finishes_queued_jobs_by_default_then_refuses_more() -> None:
    done: list[int] = []
    worker = DeviceWorker("printer")
    futures = [worker.submit(done.append, n) for n in range(5)]
    worker.close()
    assert all(f.done() for f in futures)
    assert done == [0, 1, 2, 3, 4]
    with pytest.raises(DeviceClosed, match="shut down"):
        worker.submit(done.append, 6)


def test_close_can_cancel_what_has_not_started() -> None:
    release = threading.Event()
    started = threading.Event()

    def blocker() -> None:
        started.set()
        release.wait(5)

    worker = DeviceWorker("printer")
    running = worker.submit(blocker)
    queued = worker.submit(lambda: None)
    assert started.wait(5)
    closer = threading.Thread(target=worker.close, kwargs={"cancel_pending": True})
    closer.start()
    with pytest.raises(CancelledError):
        queued.result(timeout=5)
    release.set()
    closer.join(5)
    assert running.done()
    assert not running.cancelled()
