"""The requests and answers that cross the writer's pipe most, pickled by their fields.

Every sale crosses the pipe to the writer process pickled, and its answer comes back the same
way (``store_server.db.writer_process``). A slots dataclass pickles by default through
``dataclasses``' own ``__getstate__`` and ``__setstate__``, Python functions that walk its
fields: 20 µs to pickle a bench sale (its lines, taxes and tenders) on the event loop, 21 µs to
load it again on the writer's CPU. Reduced to its class and its fields' values, it is made
again by its ``__init__`` (which checks what it checks anyway): 9 and 13 µs
(docs/benchmarks.md).

Importing this module registers the reduction with ``copyreg`` in the importing process; the
server imports it, and the writer imports every module the server has loaded before it says
ready. Anything not registered still pickles the default way.
"""

from __future__ import annotations

import copyreg
import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from pos_core.inventory import StockLine
from pos_core.sale import Sale, SaleLine
from pos_core.tax import TaxLine
from pos_core.tender import Tender
from store_server.storefront_protocol import Command
from store_server.usecases.reservations import ReservationCommand, ReservationResult, Reserve
from store_server.usecases.sales import SaleAccepted


def pickle_by_fields(*classes: type[Any]) -> None:
    """Pickle each of ``classes`` as ``cls(*field values)``.

    Raises:
        TypeError: a class is not a dataclass whose fields ``__init__`` takes by position, in order.
    """
    for cls in classes:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__qualname__} is not a dataclass")
        fields = dataclasses.fields(cls)
        if not fields or any(not f.init or f.kw_only for f in fields):
            raise TypeError(f"{cls.__qualname__}.__init__ does not take each of its fields by position")
        copyreg.pickle(cls, _reducer(cls, [f.name for f in fields]))


def _reducer(cls: type[Any], names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    values: Callable[[Any], Any] = attrgetter(*names)
    if len(names) == 1:  # one name: attrgetter gives the value itself, not a tuple of one

        def reduce_one(obj: Any) -> tuple[Any, ...]:
            return cls, (values(obj),)

        return reduce_one

    def reduce(obj: Any) -> tuple[Any, ...]:
        return cls, values(obj)

    return reduce


pickle_by_fields(
    Sale, SaleLine, TaxLine, Tender, SaleAccepted, Command, Reserve, ReservationCommand, ReservationResult, StockLine
)
