"""Where the register's device settings come from.

The store server keeps each lane's settings (``lane.config`` on ``/register``, keyed by the
register's name). The register asks for them when it starts, opens its devices with them and
keeps a copy in ``DATA_DIR/lane.json``, so it still starts with its devices when the server
cannot be reached. When the server keeps none for the lane, ``DATA_DIR/lane.json`` is the
lane's own settings, as before the server kept them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peripherals.errors import ConfigurationError
from peripherals.lane_config import LANE_FILE, LaneConfig, load_lane_config, parse_lane_config
from pos_desktop.lane.client import RegisterClient
from pos_desktop.lane.errors import LaneError

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0
"""How long a starting register waits for the store server's settings before using its copy."""


@dataclass(frozen=True, slots=True)
class LaneSource:
    """The settings to open the devices with, and a sentence saying where they came from."""

    config: LaneConfig
    origin: str
    version: int | None = None
    """The store server's version of the settings; None when they are the local file's."""


async def fetch_lane_document(
    url: str, token: str, lane: str, request_timeout: float
) -> tuple[dict[str, Any], int] | None:
    """Ask the store server for ``lane``'s settings on a connection of their own.

    Raises:
        LaneError: the server cannot be reached, refused the credential or the request.
    """
    client = RegisterClient(url, token, request_timeout=request_timeout)
    try:
        await client.connect()
        return await client.lane_config(lane)
    finally:
        await client.close()


def settle_lane_config(data_dir: Path, lane: str, fetched: tuple[dict[str, Any], int] | LaneError | None) -> LaneSource:
    """The settings to use, given what the store server answered (or why it could not).

    The server's settings win and are written to ``DATA_DIR/lane.json``; with none from the
    server (it keeps none, or cannot be asked) the file is used as it is.

    Raises:
        ConfigurationError: the settings come from the file and it is not valid.
    """
    path = data_dir / LANE_FILE
    if isinstance(fetched, tuple):
        document, version = fetched
        try:
            config = parse_lane_config(document, f"the store server's lane.json for {lane!r}")
        except ConfigurationError as exc:
            logger.warning("ignoring the store server's lane settings version %s: %s", version, exc)
            return LaneSource(load_lane_config(path), f"Lane settings from {path}: the store server's are not "
                              f"ones this register can use ({exc})")  # fmt: skip
        _keep_copy(path, document)
        return LaneSource(config, f"Lane settings version {version} from the store server.", version)
    if isinstance(fetched, LaneError):
        why = f"the store server could not be asked ({fetched})"
    else:
        why = f"the store server keeps none for {lane!r}"
    if not path.exists():
        return LaneSource(LaneConfig(), f"No lane settings: {why}, and there is no {path}.")
    return LaneSource(load_lane_config(path), f"Lane settings from {path}: {why}.")


def lane_source(url: str, token: str, lane: str, data_dir: Path, timeout: float = FETCH_TIMEOUT_S) -> LaneSource:
    """Fetch ``lane``'s settings from the store server and settle them (see ``settle_lane_config``).

    Blocking: call before the register's loop starts.

    Raises:
        ConfigurationError: the settings come from ``DATA_DIR/lane.json`` and it is not valid.
    """
    fetched: tuple[dict[str, Any], int] | LaneError | None
    try:
        fetched = asyncio.run(fetch_lane_document(url, token, lane, timeout))
    except LaneError as exc:
        fetched = exc
    source = settle_lane_config(data_dir, lane, fetched)
    (logger.warning if isinstance(fetched, LaneError) else logger.info)("%s", source.origin)
    return source


def _keep_copy(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically, unless it holds the same settings already."""
    try:
        if json.loads(path.read_text(encoding="utf-8")) == document:
            return
    except (OSError, ValueError):
        pass  # missing or unreadable: write it
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lane-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # The devices still open with the server's settings; only the offline copy is stale.
        logger.warning("could not keep a copy of the lane settings in %s: %s", path, exc)
