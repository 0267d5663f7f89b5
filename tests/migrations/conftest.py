from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg import pg_database, pg_url

__all__ = ["pg_database", "pg_url"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"
