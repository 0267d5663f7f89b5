"""The pipe's hot types pickle by their fields, come back equal, and do so in the writer too."""

from __future__ import annotations

import copyreg
import pickle
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from pos_core.inventory import StockLine
from pos_core.sale import Sale
from store_server import pipe_pickling
from store_server.pipe_pickling import pickle_by_fields
from store_server.storefront_protocol import Command
from store_server.usecases.reservations import ReservationCommand, ReservationResult, Reserve
from store_server.usecases.sales import SaleAccepted
from tests.server.support import make_sale, run, running_server

REGISTERED = ("Sale", "SaleLine", "TaxLine", "Tender", "SaleAccepted", "Command", "Reserve", "ReservationCommand",
              "ReservationResult", "StockLine")  # fmt: skip


def _registered_here() -> list[str]:
    """Which classes this process pickles by their fields (run in the writer process too)."""
    import store_server.pipe_pickling as ours

    return sorted(
        cls.__name__
        for cls, reduce in copyreg.dispatch_table.items()
        if isinstance(cls, type) and getattr(reduce, "__module__", None) == ours.__name__
    )


def _examples() -> list[object]:
    sale = Sale.from_wire(make_sale([("SKU-0001", 2), ("SKU-0002", 1)]))
    lines = (StockLine("SKU-0001", 2), StockLine("SKU-0002", 1))
    reserve = Reserve("req-1", "shop", lines, 900, "main")
    return [
        sale,
        *sale.lines,
        *sale.taxes,
        *sale.tenders,
        SaleAccepted(sale.id, 7, False),
        Command("reservation.reserve", "r1", reserve),
        reserve,
        ReservationCommand("req-2", "shop", "res-1"),
        ReservationResult("res-1", "pending", "main", "2026-11-27T10:00:00+00:00", lines, levels=({"sku": "x"},)),
        *lines,
    ]


def test_every_hot_type_comes_back_equal_through_its_fields() -> None:
    examples = _examples()
    assert {type(x).__name__ for x in examples} == set(REGISTERED)
    for example in examples:
        assert type(example) in copyreg.dispatch_table
        again = pickle.loads(pickle.dumps(example, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
        assert again == example
        assert type(again) is type(example)


def test_a_class_it_cannot_rebuild_from_its_fields_is_refused() -> None:
    class NotADataclass:
        pass

    @dataclass(frozen=True)
    class Derived:
        a: int
        b: int = field(init=False, default=0)

    @dataclass(frozen=True, kw_only=True)
    class KeywordsOnly:
        a: int

    for cls in (NotADataclass, Derived, KeywordsOnly):
        with pytest.raises(TypeError):
            pickle_by_fields(cls)
        assert cls not in copyreg.dispatch_table


@dataclass(frozen=True, slots=True)
class _One:
    only: str


def test_a_one_field_class_keeps_its_value_whole() -> None:
    pickle_by_fields(_One)
    try:
        assert pickle.loads(pickle.dumps(_One("abc"))) == _One("abc")  # noqa: S301 - our own bytes
    finally:
        del copyreg.dispatch_table[_One]


def test_the_writer_process_pickles_them_the_same_way(sqlite_url: str) -> None:
    async def scenario() -> list[str]:
        async with running_server(sqlite_url, writer_process=True) as (server, _):
            return await server.database.run(_registered_here)

    assert pipe_pickling.__name__ == "store_server.pipe_pickling"
    assert _registered_here() == sorted(REGISTERED)
    assert run(scenario()) == sorted(REGISTERED)


def test_the_server_registers_them_on_its_own() -> None:
    # In a fresh interpreter: this test module has imported pipe_pickling already.
    probe = "import copyreg, store_server.server; from pos_core.sale import Sale; print(Sale in copyreg.dispatch_table)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "True"
