"""A back-office command (``pos stock``, ``pos products``) writes beside a running server's
writer. On PostgreSQL nothing serialises two transactions from their start: the command locks
the feed's counter before it reads it, so what it says it wrote (the seq before and after) is
its own, and the numbering stays gap-free."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pos_cli.stock import write_command
from store_server.db.engine import open_database
from store_server.db.models import FeedEventRow
from store_server.usecases.stock_ops import Receive, StockResult, receive
from tests.pg import eventually, libpq_dsn
from tests.server.inventory_support import lines, open_shop, rid


def _waiting_on_a_lock(url: str) -> bool:
    """Whether a backend of this database waits for a row lock (the feed's counter)."""
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.postgres
def test_a_back_office_write_locks_the_counter_first_and_another_writer_numbers_after_it(pg_url: str) -> None:
    for shop in open_shop(pg_url):
        start = shop.last_seq()
    other_db, db = open_database(pg_url), open_database(pg_url)
    other: dict[str, Any] = {}

    def other_writer() -> None:  # the server's writer, say, taking a delivery meanwhile
        with other_db.write() as session:
            other["result"] = receive(session, Receive(rid(), "staff:other", lines(("SKU-0002", 1))))

    def use_case(session: Session, cmd: Receive) -> StockResult:
        writer = threading.Thread(target=other_writer)
        writer.start()
        other["thread"] = writer
        # It commits at once if this transaction has not locked the counter yet, else it waits.
        eventually(lambda: not writer.is_alive() or _waiting_on_a_lock(pg_url))
        return receive(session, cmd)

    try:
        result, seq = write_command(db, use_case, Receive(rid(), "staff:cli", lines(("SKU-0001", 2))))
        other["thread"].join(timeout=30)
        assert not other["thread"].is_alive()
    finally:
        other_db.close()
        db.close()
    assert "result" in other
    assert result.duplicate is False
    reader = open_database(pg_url)  # open_shop would make the store afresh
    try:
        with reader.read() as session:
            query = select(FeedEventRow.seq).where(FeedEventRow.seq > start).order_by(FeedEventRow.seq)
            seqs = list(session.scalars(query))
    finally:
        reader.close()
    assert seqs == list(range(start + 1, start + 1 + len(seqs)))  # gap-free, each once
    assert seq == start + 1  # the command locked the counter before reading it: the other writer waited
