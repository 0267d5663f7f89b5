"""A headless lane: rings up random cash sales against a store server, for load and demos.

Loose goods sold by weight get a random weight, as if put on a scale; the lane has no devices.
"""

from __future__ import annotations

import logging
import random

from pos_core.money import exponent
from pos_desktop.lane.client import RegisterClient
from pos_desktop.lane.errors import LaneError
from pos_desktop.lane.session import LaneSession

logger = logging.getLogger(__name__)

DEMO_PIN = "1234"
"""The PIN of the first demo cashier (Alex Morgan); the second, Sam Patel, has 2468."""


async def run_sim_lane(
    url: str, token: str, sales: int, seed: int, register: str = "SIM-1", *, pin: str = DEMO_PIN
) -> int:
    """Ring up ``sales`` random sales of 1-5 lines, paid in cash, as the first cashier.

    Args:
        url: the store server, ``ws://host:port``.
        token: a register credential.
        sales: how many sales to ring up.
        seed: seeds the choice of products, quantities and cash, so a run can be repeated.
        register: the lane's name on the sales.
        pin: the first cashier's PIN.

    Returns:
        How many sales the server acknowledged.

    Raises:
        LaneError: cannot connect, log in, or the catalogue is empty.
    """
    rng = random.Random(seed)  # noqa: S311 - picks test data, not secrets
    client = RegisterClient(url, token)
    welcome = await client.connect()
    try:
        catalogue = await client.fetch_catalogue()
        products = [p for p in catalogue.products() if p.barcode and p.tax_class in welcome.tax_classes]
        if not products:
            raise LaneError("The store has no products with barcodes to sell; add some first.")
        cashiers = await client.cashiers()
        if not cashiers:
            raise LaneError("The store has no active cashiers; add one first.")
        lane = LaneSession(welcome, catalogue, register)
        lane.log_in(await client.login(cashiers[0].id, pin))
        note = 5 * 10 ** exponent(lane.currency)
        acknowledged = 0
        for _ in range(sales):
            for product in rng.sample(products, rng.randint(1, min(5, len(products)))):
                if product.weighed:  # loose goods: one bag of 150 g to 2.5 kg, as if weighed
                    lane.add(product, rng.randint(150, 2_500))
                    continue
                for _unit in range(rng.randint(1, 3)):
                    lane.scan(product.barcode)
            total = lane.totals().total
            tendered = total + rng.choice([0, (-total) % note, note]) if total else note
            sale = lane.pay_cash(max(tendered, total))
            try:
                await client.submit_sale(sale)
                acknowledged += 1
            except LaneError as exc:
                logger.warning("sale %s not acknowledged: %s", sale.id, exc)
            lane.start_next_customer()
        return acknowledged
    finally:
        await client.close()
