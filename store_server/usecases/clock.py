"""Timestamps as the wire and the database hold them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds and a zone."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    """The current time, zone-aware in UTC."""
    return datetime.now(UTC)
