"""``lane.config`` on ``/register``: the lane's device settings the store keeps for it.

Kept out of ``register_endpoint`` so that module stays a dispatcher; the endpoint adds the
reply's ``type`` and ``req``.
"""

from __future__ import annotations

import logging
from typing import Any

from pos_core.protocol import field_str
from store_server.db.engine import Database
from store_server.usecases.lanes import MAX_LANE_NAME, LaneSettings, get_lane_config

log = logging.getLogger(__name__)


async def lane_config_fields(db: Database, message: dict[str, Any], peer: str) -> dict[str, Any]:
    """The reply's fields for ``{"type": "lane.config", "lane": NAME}``.

    ``config`` is the stored ``lane.json`` document and ``version`` its version; both are
    ``null`` when the store keeps no settings for that lane (the register then uses its own file).

    Raises:
        ProtocolError: ``lane`` is missing or not a name.
    """
    lane = field_str(message, "lane", max_len=MAX_LANE_NAME)
    found: LaneSettings | None = await db.run_reader(_read, db, lane)
    log.info("lane settings asked peer=%s lane=%s version=%s", peer, lane, found.version if found else None)
    if found is None:
        return {"lane": lane.strip(), "config": None, "version": None}
    return {"lane": found.lane, "config": found.document, "version": found.version}


def _read(db: Database, lane: str) -> LaneSettings | None:
    with db.read() as session:
        return get_lane_config(session, lane)
