"""The stock ledger: the sum of movements always equals the level, and seq is gap-free."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pos_core.sale import Sale
from store_server.db.engine import open_database
from store_server.db.models import FeedEventRow, StockLevel
from store_server.errors import UnknownSku
from store_server.usecases.sales import payload_hash, submit_sale
from store_server.usecases.stock import ledger_on_hand
from store_server.usecases.store import init_store
from tests.server.support import PRODUCTS, SEED, counts, make_sale

_TEMPLATE: list[Path] = []


def _template(factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded store made once and copied per example (migrations take time)."""
    if not _TEMPLATE:
        path = factory.mktemp("template") / "store.db"
        init_store(f"sqlite:///{path}", demo=False, seed=replace(SEED, cashiers=[]))
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


items = st.lists(st.tuples(st.sampled_from(sorted(PRODUCTS)), st.integers(1, 30)), min_size=1, max_size=4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sales=st.lists(items, min_size=1, max_size=6), resend=st.booleans())
def test_movements_sum_to_on_hand_and_seq_is_gap_free(
    tmp_path_factory: pytest.TempPathFactory, sales: list[list[tuple[str, int]]], resend: bool
) -> None:
    folder = tmp_path_factory.mktemp("ledger")
    shutil.copy(_template(tmp_path_factory), folder / "store.db")
    url = f"sqlite:///{folder / 'store.db'}"
    db = open_database(url)
    try:
        wires = [make_sale(s) for s in sales]
        for wire in wires + (wires[:1] if resend else []):
            sale = Sale.from_wire(wire)
            with db.write() as session:
                submit_sale(session, sale, payload_hash(sale))
        with db.read() as session:
            levels = {lvl.sku: lvl.on_hand for lvl in session.scalars(select(StockLevel))}
            for sku in PRODUCTS:
                assert ledger_on_hand(session, sku) == levels.get(sku, 0)
            opening = {p.sku: p.on_hand for p in SEED.products}
            for sku in PRODUCTS:
                sold = sum(q for s in sales for k, q in s if k == sku)
                assert levels.get(sku, 0) == opening[sku] - sold
            seqs = list(session.scalars(select(FeedEventRow.seq).order_by(FeedEventRow.seq)))
            assert seqs == list(range(1, len(seqs) + 1))
            assert len(seqs) == sum(1 + len(w["lines"]) for w in wires)
    finally:
        db.close()


def test_unknown_sku_writes_nothing(sqlite_url: str) -> None:
    init_store(sqlite_url, demo=False, seed=SEED)
    before = counts(sqlite_url)
    wire = make_sale([("SKU-0001", 1), ("SKU-0002", 1)])
    wire["lines"][1]["sku"] = "SKU-404"
    sale = Sale.from_wire(wire)
    db = open_database(sqlite_url)
    try:
        with pytest.raises(UnknownSku, match="SKU-404"), db.write() as session:
            submit_sale(session, sale, payload_hash(sale))
    finally:
        db.close()
    assert counts(sqlite_url) == before
