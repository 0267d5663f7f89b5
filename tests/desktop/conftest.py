"""A real store server with the demo store, on 127.0.0.1, running on its own loop thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pos_desktop.app.loop_thread import LoopThread
from store_server.db.engine import open_database
from store_server.server import StoreServer
from store_server.usecases.credentials import issue_token
from store_server.usecases.store import init_store

SOURDOUGH = "4004351060832"
"""Sourdough loaf 750 g, €3.89 (reduced rate), the demo catalogue's first product."""
RYE = "4174424748704"
"""Rye bread 500 g, €2.49 (reduced rate)."""


@dataclass(frozen=True)
class RunningStore:
    url: str
    token: str
    db_url: str
    server: StoreServer
    loop: LoopThread


def _register_token(db_url: str) -> str:
    db = open_database(db_url)
    try:
        with db.write() as session:
            return issue_token(session, "register", "Till 1")
    finally:
        db.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunningStore]:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    init_store(db_url, demo=True)
    token = _register_token(db_url)
    loop = LoopThread("test-store-server")
    loop.start()
    server = StoreServer(db_url)
    port = loop.submit(server.start("127.0.0.1", 0)).result(timeout=30)
    try:
        yield RunningStore(f"ws://127.0.0.1:{port}", token, db_url, server, loop)
    finally:
        loop.submit(server.stop()).result(timeout=30)
        loop.stop()
