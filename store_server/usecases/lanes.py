"""Lane configuration kept on the store server: each register's ``lane.json``, versioned.

The store is the keeper; a register fetches its settings when it starts (``lane.config`` on
``/register``) and keeps a copy in ``DATA_DIR/lane.json`` for when the server is unreachable.
A document is checked with the register's own parser (``peripherals.lane_config``) before it is
stored, so a register is never handed settings it would refuse.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from peripherals.errors import ConfigurationError
from peripherals.lane_config import parse_lane_config
from pos_core import json_text
from store_server.db.models import LaneConfigRow
from store_server.errors import StoreError
from store_server.usecases.clock import now_iso

log = logging.getLogger(__name__)

MAX_LANE_NAME = 200
MAX_DOCUMENT_CHARS = 64 * 1024
"""A lane.json is a few hundred characters; anything near this is not one."""


class LaneConfigRefused(StoreError):
    """The lane's name or settings cannot be stored; nothing was written."""


class UnknownLane(StoreError):
    """The store keeps no settings for that lane."""


@dataclass(frozen=True, slots=True)
class LaneSettings:
    """A lane's settings as the store keeps them."""

    lane: str
    document: dict[str, Any]
    version: int
    changed_by: str
    changed_at: str
    changed: bool = False
    """Set by ``set_lane_config``: False when the same settings were stored already."""


def check_lane_name(lane: str) -> str:
    """``lane`` stripped.

    Raises:
        LaneConfigRefused: it is empty or longer than 200 characters.
    """
    name = lane.strip()
    if not name or len(name) > MAX_LANE_NAME:
        raise LaneConfigRefused(
            f"A lane's name must be 1 to {MAX_LANE_NAME} characters, the register's --name, e.g. 'Till 1'."
        )
    return name


def canonical(document: dict[str, Any]) -> str:
    """The document as JSON with sorted keys: equal settings give equal text."""
    return json_text.canonical(document)


def set_lane_config(
    session: Session, lane: str, document: Any, changed_by: str, *, where: str | None = None
) -> LaneSettings:
    """Store ``document`` as ``lane``'s settings; the same settings again change nothing.

    Args:
        document: the decoded ``lane.json`` object.
        changed_by: who changes it, e.g. ``installer:sam``.
        where: how a refusal names the document (default: "lane.json for 'LANE'").

    Returns:
        The settings as stored; ``changed`` says whether this call wrote a new version.

    Raises:
        LaneConfigRefused: the name is not valid, or the document is not settings a register
            accepts (the parser's sentence); nothing was written.
    """
    name = check_lane_name(lane)
    where = where or f"lane.json for {name!r}"
    if not isinstance(document, dict):
        raise LaneConfigRefused(f"The lane settings {where} must be a JSON object with device sections.")
    try:
        parse_lane_config(document, where)
    except ConfigurationError as exc:
        raise LaneConfigRefused(str(exc)) from None
    text = canonical(document)
    if len(text) > MAX_DOCUMENT_CHARS:
        raise LaneConfigRefused(f"The lane settings {where} are too long to be a lane.json; check the file.")
    row = session.get(LaneConfigRow, name)
    if row is not None and row.document == text:
        return _info(row)
    if row is None:
        row = LaneConfigRow(lane=name, document=text, version=1, changed_by=changed_by, changed_at=now_iso())
        session.add(row)
    else:
        row.document, row.version = text, row.version + 1
        row.changed_by, row.changed_at = changed_by, now_iso()
    session.flush()
    log.info("lane settings stored lane=%s version=%s by=%s", name, row.version, changed_by)
    return _info(row, changed=True)


def get_lane_config(session: Session, lane: str) -> LaneSettings | None:
    """``lane``'s settings, or None when the store keeps none for it."""
    row = session.get(LaneConfigRow, lane.strip())
    return None if row is None else _info(row)


def list_lane_configs(session: Session) -> list[LaneSettings]:
    """Every lane's settings, by lane name."""
    return [_info(row) for row in session.scalars(select(LaneConfigRow).order_by(LaneConfigRow.lane))]


def _info(row: LaneConfigRow, *, changed: bool = False) -> LaneSettings:
    document: dict[str, Any] = json.loads(row.document)
    return LaneSettings(row.lane, document, row.version, row.changed_by, row.changed_at, changed)
