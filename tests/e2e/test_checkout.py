"""The walking skeleton end to end: mDNS, register window, store server, ledger, receipt and feed.

Everything is real and on loopback: the server on 127.0.0.1 port 0 advertised by mDNS on
127.0.0.1 only, the register window (offscreen Qt) that finds it by that advertisement, a file
ESC/POS printer, and a storefront consumer on the feed. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from peripherals.escpos_decode import decode_escpos
from pos_desktop.app.loop_thread import LoopThread
from pos_desktop.app.main import create_register
from pos_desktop.app.style import STYLESHEET
from pos_desktop.lane.discovery import find_store
from store_server.db.engine import open_database
from store_server.db.models import StockLevel, StockMovement
from store_server.feed_client import FeedEvent, follow_feed
from store_server.mdns import StoreAdvertiser
from store_server.server import StoreServer
from store_server.usecases.credentials import issue_token
from store_server.usecases.stock import ledger_on_hand
from store_server.usecases.store import init_store
from tests.pg import pg_database, pg_url

__all__ = ["pg_database", "pg_url"]

WAIT_MS = 20_000
LOOPBACK = "127.0.0.1"
SOURDOUGH = ("4004351060832", "SKU-00001", "Sourdough loaf 750 g")
RYE = ("4174424748704", "SKU-00002", "Rye bread 500 g")


@dataclass
class Storefront:
    """A `pos feed`-style consumer on its own loop, recording what it was sent."""

    events: list[FeedEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self) -> list[FeedEvent]:
        with self.lock:
            return list(self.events)

    def record(self, event: FeedEvent) -> None:
        with self.lock:
            self.events.append(event)


def _token(db_url: str, kind: str) -> str:
    db = open_database(db_url)
    try:
        with db.write() as session:
            return issue_token(session, kind, f"e2e {kind}")
    finally:
        db.close()


def _levels(db_url: str, skus: list[str]) -> dict[str, tuple[int, int]]:
    """Per SKU: (on hand in the level row, on hand summed from the ledger)."""
    db = open_database(db_url)
    try:
        with db.read() as session:
            rows = {row.sku: row.on_hand for row in session.scalars(select(StockLevel).where(StockLevel.sku.in_(skus)))}
            return {sku: (rows[sku], ledger_on_hand(session, sku)) for sku in skus}
    finally:
        db.close()


def _sale_movements(db_url: str, sale_id: str) -> list[tuple[str, int, str, str]]:
    db = open_database(db_url)
    try:
        with db.read() as session:
            rows = session.scalars(select(StockMovement).where(StockMovement.document_id == sale_id))
            return sorted((m.sku, m.quantity, m.from_bucket, m.to_bucket) for m in rows)
    finally:
        db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def server_loop() -> Iterator[LoopThread]:
    loop = LoopThread("e2e-store")
    loop.start()
    yield loop
    loop.stop()


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_a_cashier_sale_moves_the_ledger_prints_and_reaches_the_storefront(
    qtbot: QtBot, qapp: QApplication, db_url: str, tmp_path: Path, server_loop: LoopThread
) -> None:
    init_store(db_url, demo=True)
    register_token, storefront_token = _token(db_url, "register"), _token(db_url, "storefront")
    before = _levels(db_url, [SOURDOUGH[1], RYE[1]])

    server = StoreServer(db_url)
    port = server_loop.submit(server.start(LOOPBACK, 0)).result(timeout=30)
    advertiser = StoreAdvertiser(store_id=server.store.id, name=server.store.name, port=port, interface=LOOPBACK)
    server_loop.submit(advertiser.start()).result(timeout=30)
    storefront = Storefront()
    stop_feed = asyncio.Event()
    feed = server_loop.submit(
        follow_feed(f"ws://{LOOPBACK}:{port}/feed", storefront_token, 0, storefront.record, stop=stop_feed)
    )
    window = None
    try:
        # The register finds the store the way `pos register` without --server does.
        found = server_loop.submit(find_store(LOOPBACK, 10, store_id=server.store.id)).result(timeout=30)
        assert found.url == f"ws://{LOOPBACK}:{port}"

        qapp.setStyleSheet(STYLESHEET)
        printer_file = tmp_path / "receipts.escpos"
        window = create_register(
            found.url, register_token, printer=f"file:{printer_file}", register_name="Till 1", data_dir=tmp_path
        )
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        window.start()

        login = window.login_view
        qtbot.waitUntil(lambda: len(login.cashier_buttons) == 2, timeout=WAIT_MS)
        click(qtbot, next(b for b in login.cashier_buttons.values() if b.text() == "Sam Patel"))
        qtbot.keyClicks(login, "2468")
        qtbot.keyClick(login, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window is not None and window.sale_view is not None, timeout=WAIT_MS)
        view = window.sale_view
        assert view is not None

        for barcode in (SOURDOUGH[0], RYE[0], SOURDOUGH[0]):  # a keyboard-wedge scanner types, then Enter
            qtbot.keyClicks(view.scan_field, barcode)
            qtbot.keyClick(view.scan_field, Qt.Key.Key_Return)
        assert view.table.rowCount() == 2
        assert view.total_label.text() == "€10.27"  # 2 x 3.89 + 2.49

        click(qtbot, view.pay_button)
        dialog = window.payment_dialog
        assert dialog is not None
        qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
        qtbot.keyClicks(dialog.amount_field, "20")
        assert dialog.change_label.text() == "€9.73"
        click(qtbot, dialog.confirm_button)
        qtbot.waitUntil(view.completed.isVisible, timeout=WAIT_MS)
        assert view.change_label.text() == "€9.73"

        # The receipt: both products, the total, the drawer kicked, and a cut at the end.
        def printed() -> bool:
            return printer_file.exists() and any(r.cut for r in decode_escpos(printer_file.read_bytes()))

        qtbot.waitUntil(printed, timeout=WAIT_MS)
        data = printer_file.read_bytes()
        (receipt,) = [r for r in decode_escpos(data) if not r.is_empty()]
        text = receipt.texts
        assert any(t.startswith(SOURDOUGH[2]) and t.endswith("7.78") for t in text)
        assert "  2 x 3.89" in text
        assert any(t.startswith(RYE[2]) and t.endswith("2.49") for t in text)
        assert any(t.startswith("TOTAL EUR") and t.endswith("10.27") for t in text)
        assert any(t.startswith("Change") and t.endswith("9.73") for t in text)
        assert "Served by Sam Patel" in text
        assert [k.pin for k in receipt.drawer_kicks] == [2]
        assert receipt.cut
        assert data.endswith(b"\x1dV\x01"), "the job ends with the cut"

        # The storefront heard the sale and both stock changes, in increasing seq.
        qtbot.waitUntil(lambda: len(storefront.seen()) >= 3, timeout=WAIT_MS)
        events = storefront.seen()
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs))
        assert seqs[0] >= 1
        sale = next(e for e in events if e.type == "sale.completed")
        assert sale.data["total"] == 1027
        assert sale.data["register"] == "Till 1"
        stock = {e.data["sku"]: e for e in events if e.type == "stock.changed"}
        assert set(stock) == {SOURDOUGH[1], RYE[1]}
        assert all(e.seq > sale.seq for e in stock.values())

        # The ledger moved, the level rows agree with it, and the feed carried the same figures.
        after = _levels(db_url, [SOURDOUGH[1], RYE[1]])
        assert after[SOURDOUGH[1]] == (before[SOURDOUGH[1]][0] - 2, before[SOURDOUGH[1]][0] - 2)
        assert after[RYE[1]] == (before[RYE[1]][0] - 1, before[RYE[1]][0] - 1)
        assert stock[SOURDOUGH[1]].data["on_hand"] == after[SOURDOUGH[1]][0]
        assert stock[RYE[1]].data["available"] == after[RYE[1]][0]
        assert _sale_movements(db_url, str(sale.data["id"])) == [
            (SOURDOUGH[1], 2, "on_hand", "customer"),
            (RYE[1], 1, "on_hand", "customer"),
        ]
    finally:
        if window is not None:
            window.shutdown()
        server_loop.loop.call_soon_threadsafe(stop_feed.set)
        feed.result(timeout=30)
        server_loop.submit(advertiser.stop()).result(timeout=30)
        server_loop.submit(server.stop()).result(timeout=30)
