"""A throwaway PostgreSQL database per test session (owned by the server tests).

Tests marked ``postgres`` skip when the server is unreachable, except under ``CI=true``
where an unreachable database fails the run: CI must prove both databases.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Generator, Iterator

import psycopg
import pytest
from psycopg import sql

ADMIN_DSN = os.environ.get("POS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at {ADMIN_DSN} is unreachable ({reason})."
    if os.environ.get("CI") == "true":
        pytest.fail(message + " CI must run the PostgreSQL tests.")
    pytest.skip(message)


def session_database() -> Generator[str, None, None]:
    """Create a uniquely named database; yields its SQLAlchemy URL and drops it after."""
    name = f"pos_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unreachable(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
        return
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = admin.info
        user = info.user
        host = info.host
        port = info.port
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def reset_schema(url: str) -> str:
    """Empty the session database so each test starts from nothing."""
    dsn = libpq_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    yield from session_database()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A SQLAlchemy URL of an empty PostgreSQL database."""
    return reset_schema(pg_database)


def libpq_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as psycopg itself takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def eventually(condition: Callable[[], bool], wait_s: float = 10.0) -> None:
    """Wait until ``condition`` holds. For what PostgreSQL tells no one (a backend that starts to
    wait for a lock, a closed connection it noticed): look again every 50 ms."""
    deadline = time.monotonic() + wait_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)
