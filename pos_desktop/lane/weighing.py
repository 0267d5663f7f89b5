"""Weighing loose goods: the scale on its own device thread, and what each reading means for the sale.

Only a stable weight above zero may be charged (legal for trade). A product with a preset tare
(its container) is weighed net of it: the scale read takes the tare off, and a reading lighter
than the container is refused like any unsellable one. Every other reading is
answered with one sentence the cashier can act on, and the register keeps asking the scale
until the weight is steady, the cashier cancels, or ``WEIGH_TIMEOUT_S`` passes.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from peripherals.device import Device
from peripherals.lane_config import ScaleSettings
from peripherals.scale import Scale, open_scale
from peripherals.scale_codec import ScaleReading, WeightState
from peripherals.worker import DeviceWorker
from pos_core.catalogue import Product
from pos_core.weight import format_weight

WEIGH_TIMEOUT_S = 20.0
"""How long the register waits for a steady weight before it stops asking."""
POLL_INTERVAL_S = 0.25
"""Between two questions to an unsteady scale: a 9600-baud answer takes about 10 ms."""
SETTLING = "The scale is still settling; wait for a steady weight."


@dataclass(frozen=True, slots=True)
class Weighing:
    """One request to weigh ``product``; a newer one (or a cancel) makes older answers stale."""

    number: int
    product: Product


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a reading means: ``grams`` to charge, or a sentence saying why not (yet)."""

    grams: int | None
    sentence: str
    waiting: bool = False
    """Not yet, but nothing is wrong: the goods are settling or not on the plate yet."""

    @property
    def sellable(self) -> bool:
        return self.grams is not None


def judge(reading: ScaleReading, product: Product) -> Verdict:
    """Whether ``reading`` may be charged for ``product``, and the sentence the screen shows."""
    if reading.sellable and reading.grams is not None:
        return Verdict(reading.grams, f"Weighed {product.name}.")
    if reading.state is WeightState.IN_MOTION:
        return Verdict(None, SETTLING, waiting=True)
    if reading.state is WeightState.OVER_CAPACITY:
        return Verdict(None, "That is more than the scale can weigh; weigh it in smaller lots.")
    if reading.state is WeightState.ERROR:
        return Verdict(None, "The scale reports a fault; switch it off and on again.")
    if reading.state is WeightState.UNDER_ZERO or (reading.grams is not None and reading.grams < 0):
        return Verdict(None, "The scale reads below zero; take everything off and zero it.")
    # Lighter than the container (an empty plate reads so too) or nothing on it: keep asking, sell nothing.
    below = reading.state is WeightState.BELOW_TARE
    return Verdict(None, below_tare(product) if below else f"Put the {product.name} on the scale.", waiting=True)


def below_tare(product: Product) -> str:
    """Why a reading lighter than ``product``'s container (its preset tare) is not sold."""
    return (
        f"The scale reads less than the {product.name}'s {format_weight(product.tare_grams)} container; "
        "put it on the scale in its container."
    )


class ScaleStation:
    """The lane's scale, asked on its own ``DeviceWorker``.

    Raises:
        ConfigurationError: the settings do not name a serial scale of a known protocol.
    """

    def __init__(self, settings: ScaleSettings, *, timeout: float = 1.0) -> None:
        self.scale: Scale = open_scale(settings.target, settings.protocol, settings.unit, timeout)
        self.device = Device("scale")
        self.device.open()
        self.device.claim()
        self.device.enable()
        self.worker = DeviceWorker("scale")

    def read(self, tare_grams: int = 0) -> concurrent.futures.Future[ScaleReading]:
        """One weight request, net of ``tare_grams`` (the product's container).

        The future raises ``PeripheralError`` when the scale does not answer, or when it is tared
        itself while a preset tare is asked (the container would be taken off twice).
        """
        return self.worker.submit(self.device.run, self.scale.read_weight, tare_grams)

    def close(self) -> None:
        self.worker.close(cancel_pending=True)
        self.device.close()
