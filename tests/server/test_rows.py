"""``rows.Statements``: ``:name`` statements sent with positional parameters."""

from __future__ import annotations

import sqlite3

from store_server.usecases.rows import Statements, _positional


def test_named_statements_go_by_position_in_the_order_the_names_appear() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER)")
    statements = Statements(conn.cursor(), "?")
    statements.executemany(
        "INSERT INTO t (c, a, b) VALUES (:c, :a, :b)",
        [{"a": 1, "b": "one", "c": 10, "ignored": 0}, {"b": "two", "c": 20, "a": 2}],
    )
    statements.execute("UPDATE t SET c = c + :step WHERE a = :a AND c < :step * 100", {"a": 2, "step": 5})
    assert conn.execute("SELECT a, b, c FROM t ORDER BY a").fetchall() == [(1, "one", 10), (2, "two", 25)]


def test_a_name_used_twice_is_bound_twice_and_one_name_makes_a_tuple() -> None:
    text, values = _positional("UPDATE t SET r = r + :q WHERE x >= :q AND s = :s", "?")
    assert text == "UPDATE t SET r = r + ? WHERE x >= ? AND s = ?"
    assert values({"q": 3, "s": "k"}) == (3, 3, "k")
    one_text, one = _positional("DELETE FROM t WHERE id = :id", "?")
    assert (one_text, one({"id": 7})) == ("DELETE FROM t WHERE id = ?", (7,))


def test_psycopg_markers_keep_a_literal_percent_sign() -> None:
    text, values = _positional("SELECT sku FROM p WHERE name LIKE 'a%' AND sku = :sku", "%s")
    assert text == "SELECT sku FROM p WHERE name LIKE 'a%%' AND sku = %s"
    assert values({"sku": "X"}) == ("X",)
