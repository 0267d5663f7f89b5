"""The write-ahead log is copied into the database file by a thread of its own, while the store
keeps its connections open (so SQLite's own checkpoint-on-close cannot be what did it)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from pos_core.sale import Sale
from store_server.db.checkpoint import BACKSTOP_PAGES
from store_server.db.engine import open_database
from store_server.usecases.sales import payload_hash, submit_sale
from tests.server.support import make_sale, prepare_store, run


def test_sales_reach_the_database_file_while_the_store_runs(sqlite_url: str, tmp_path: Path) -> None:
    prepare_store(sqlite_url)
    path = tmp_path / "store.db"
    db = open_database(sqlite_url)
    try:
        sales = [Sale.from_wire(make_sale([("SKU-0001", 1), ("SKU-0002", 1), ("SKU-0003", 1)])) for _ in range(300)]

        async def sell() -> None:
            await asyncio.gather(*(db.run_write(submit_sale, s, payload_hash(s)) for s in sales))

        before = path.stat().st_size
        run(sell())
        seen = db.checkpoints
        # The last commit asked for one more checkpoint; only a checkpoint makes the database file
        # itself grow, and SQLite's own (the writer's backstop) is far off.
        assert db.wait_for_checkpoint(seen, timeout_s=10), f"no background checkpoint after the sales ({seen} before)"
        assert path.stat().st_size > before
        with db.write() as session:  # SQLite's own inline checkpoint is only a backstop
            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            assert raw.execute("PRAGMA wal_autocheckpoint").fetchone() == (BACKSTOP_PAGES,)
    finally:
        db.close()
    assert not any(t.name == "store-db-checkpoint" for t in threading.enumerate())
