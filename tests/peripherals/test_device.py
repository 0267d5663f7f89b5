"""The shared device model: lifecycle order, health from outcomes, numbered events, counters."""

from __future__ import annotations

import pytest

from peripherals.device import Device, DeviceCounters, DeviceEvent, DeviceState, EventKind
from peripherals.errors import ConfigurationError, DeviceUnavailable, PeripheralError
from peripherals.printer_status import Health
from peripherals.worker import DeviceWorker


def enabled(name: str = "receipt printer") -> tuple[Device, list[DeviceEvent]]:
    device = Device(name)
    events: list[DeviceEvent] = []
    device.subscribe(events.append)
    device.open()
    device.claim()
    device.enable()
    return device, events


def health(device: Device) -> Health:
    """Read afresh (mypy would otherwise keep the value narrowed by an earlier assert)."""
    return device.health


def test_lifecycle_in_order_with_numbered_events() -> None:
    device, events = enabled()
    device.disable()
    device.release()
    device.close()
    assert [(e.sequence, e.kind, e.detail) for e in events] == [
        (1, EventKind.STATE, "opened"),
        (2, EventKind.STATE, "claimed"),
        (3, EventKind.STATE, "enabled"),
        (4, EventKind.STATE, "claimed"),
        (5, EventKind.STATE, "opened"),
        (6, EventKind.STATE, "closed"),
    ]
    assert device.state is DeviceState.CLOSED


def test_steps_out_of_order_are_refused_with_a_sentence() -> None:
    device = Device("scale")
    with pytest.raises(PeripheralError, match=r"^The scale must be opened first; it is closed\.$"):
        device.claim()
    device.open()
    with pytest.raises(PeripheralError, match=r"^The scale must be claimed first; it is opened\.$"):
        device.enable()
    with pytest.raises(PeripheralError, match="not enabled"):
        device.run(lambda: None)


def test_close_from_enabled_walks_back_through_every_state() -> None:
    device, events = enabled()
    device.close()
    assert [e.detail for e in events[3:]] == ["claimed", "opened", "closed"]


def test_success_and_failure_drive_health_and_counters() -> None:
    assert Device("new").health is Health.UNKNOWN
    device, events = enabled()
    assert device.run(lambda x: x * 2, 21) == 42
    assert health(device) is Health.ONLINE

    def down() -> None:
        raise DeviceUnavailable("The receipt printer at 10.0.0.9:9100 does not answer; check it is on and connected.")

    for _ in range(2):
        with pytest.raises(DeviceUnavailable):
            device.run(down)
    assert health(device) is Health.OFF
    assert device.counters == DeviceCounters(
        operations=3,
        failures=2,
        consecutive_failures=2,
        last_error="The receipt printer at 10.0.0.9:9100 does not answer; check it is on and connected.",
    )
    device.run(lambda: None)
    assert device.counters.consecutive_failures == 0
    assert health(device) is Health.ONLINE
    kinds = [(e.kind, e.detail) for e in events[3:]]
    assert kinds == [
        (EventKind.HEALTH, "online"),
        (EventKind.ERROR, "The receipt printer at 10.0.0.9:9100 does not answer; check it is on and connected."),
        (EventKind.HEALTH, "off"),  # health changes once, not on every failure
        (EventKind.ERROR, "The receipt printer at 10.0.0.9:9100 does not answer; check it is on and connected."),
        (EventKind.HEALTH, "online"),
    ]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


def test_device_answering_but_failing_is_offline() -> None:
    device, _ = enabled("scale")

    def refuses() -> None:
        raise PeripheralError("The scale is over capacity; take something off.")

    with pytest.raises(PeripheralError):
        device.run(refuses)
    assert device.health is Health.OFFLINE


def test_a_setting_mistake_is_counted_but_does_not_blame_the_device() -> None:
    device, _ = enabled()
    device.run(lambda: None)

    def bad_pin() -> None:
        raise ConfigurationError("A cash drawer is wired to pin 2 or pin 5, not pin 3.")

    with pytest.raises(ConfigurationError):
        device.run(bad_pin)
    assert health(device) is Health.ONLINE
    assert device.counters.failures == 1


def test_a_broken_listener_does_not_break_the_device() -> None:
    device = Device("display")

    def broken(event: DeviceEvent) -> None:
        raise RuntimeError("listener bug")

    device.subscribe(broken)
    device.open()
    assert device.state is DeviceState.OPENED


def test_unsubscribe_and_events_from_the_worker_thread() -> None:
    device, events = enabled()
    seen: list[int] = []
    unsubscribe = device.subscribe(lambda e: seen.append(e.sequence))
    with DeviceWorker("printer") as worker:
        worker.submit(device.run, lambda: None).result(timeout=5)
        unsubscribe()
        worker.submit(device.set_health, Health.OFFLINE).result(timeout=5)
    assert seen == [4]
    assert events[-1].detail == "offline"
