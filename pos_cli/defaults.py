"""Where things live when the command line is not told otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from pos_core.errors import PosError

DEFAULT_PORT = 8765
DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - a store server serves the shop's LAN; tests pass --host 127.0.0.1
DEFAULT_SERVER_URL = f"ws://127.0.0.1:{DEFAULT_PORT}"
APP_NAME = "unified-pos"


def default_data_dir() -> Path:
    """``$POS_DATA_DIR``, else the per-user data directory (``~/.local/share/unified-pos`` on Linux)."""
    env = os.environ.get("POS_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_demo_dir() -> Path:
    return default_data_dir() / "demo"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'store.db'}"


def database_url(data_dir: Path, db: str | None) -> str:
    """``--db`` when given, else the embedded SQLite file ``DATA_DIR/store.db``."""
    return db or sqlite_url(data_dir)


def default_printer(data_dir: Path) -> str:
    """The demo's receipt printer: an ESC/POS byte stream appended to a file under the data dir."""
    return f"file:{data_dir / 'receipts' / 'receipts.escpos'}"


def endpoint_url(server: str, path: str) -> str:
    """``ws://host:port`` or ``ws://host:port/anything`` -> ``ws://host:port`` + ``path``.

    Raises:
        PosError: ``server`` is not a ``ws://`` or ``wss://`` address with a host and a valid port.
    """
    try:
        parts = urlsplit(server)
        valid = parts.scheme in ("ws", "wss") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number from 0 to 65535
        valid = False
    if not valid:
        raise PosError(f"{server} is not a store server address; it looks like ws://host:{DEFAULT_PORT}.")
    base = server.rstrip("/")
    scheme_end = base.find("://")
    slash = base.find("/", scheme_end + 3 if scheme_end >= 0 else 0)
    if slash >= 0:
        base = base[:slash]
    return base + path
