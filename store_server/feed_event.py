"""One change-feed event as stored and as sent (docs/protocol.md, ``/feed``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pos_core.json_text import compact


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """An event in the store's change feed. ``seq`` is gap-free in commit order."""

    seq: int
    type: str
    at: str
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The ``event`` frame the server sends."""
        return {"type": "event", "seq": self.seq, "event": self.type, "at": self.at, "data": self.data}

    @classmethod
    def from_wire(cls, frame: dict[str, Any]) -> FeedEvent:
        """Read an ``event`` frame.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """
        seq, kind, at, data = frame.get("seq"), frame.get("event"), frame.get("at"), frame.get("data")
        if type(seq) is not int or not isinstance(kind, str) or not isinstance(at, str) or not isinstance(data, dict):
            raise ValueError("An event frame needs an integer seq, string event and at, and an object data.")
        return cls(seq, kind, at, data)

    def to_json_line(self) -> str:
        """One JSON object with keys seq, type, at, data, for logs and pipes."""
        return compact({"seq": self.seq, "type": self.type, "at": self.at, "data": self.data})


def stored_event_frame(seq: int, kind: str, at: str, payload_json: str) -> str:
    """The ``event`` frame for a stored event, splicing in its already-encoded JSON payload."""
    head = compact({"type": "event", "seq": seq, "event": kind, "at": at})
    return f'{head[:-1]},"data":{payload_json}}}'
