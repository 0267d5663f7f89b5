"""The storefront feed protocol, revision 3 (docs/protocol.md, ``/feed``): frames and rules, no I/O.

The server endpoint and the reference client both build and read frames here, so the two
cannot drift apart; the sockets live in ``feed_endpoint`` and ``feed_client``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pos_core.protocol import (
    BAD_JSON,
    BAD_MESSAGE,
    UNKNOWN_TYPE,
    ProtocolError,
    decode,
    field_int,
)
from store_server.errors import StoreError

FEED_PROTOCOL = 3
"""This revision: events travel in batches, several to an ``events`` message."""
ACKED_PROTOCOL = 2
"""The revision that brought epochs, snapshots, acks and the unacked cap; still served, one
``event`` message per event."""
LEGACY_PROTOCOL = 1
"""A subscribe without ``protocol``: no acks, no snapshots."""
PROTOCOLS = (LEGACY_PROTOCOL, ACKED_PROTOCOL, FEED_PROTOCOL)
MAX_EVENTS_BYTES = 64 * 1024
"""Bytes of events (UTF-8) in one ``events`` message at most; a single bigger event goes alone."""

# Frames a consumer sends.
SUBSCRIBE = "subscribe"
ACK = "ack"
# Frames the server sends.
SUBSCRIBED = "subscribed"
EVENT = "event"
EVENTS = "events"
HEARTBEAT = "heartbeat"
SNAPSHOT_BEGIN = "snapshot.begin"
SNAPSHOT_STOCK = "snapshot.stock"
SNAPSHOT_RESERVATIONS = "snapshot.reservations"
SNAPSHOT_END = "snapshot.end"
ERROR = "error"

CONSUMER_MESSAGES = (SUBSCRIBE, ACK)
SERVER_MESSAGES = (
    SUBSCRIBED,
    EVENT,
    EVENTS,
    HEARTBEAT,
    SNAPSHOT_BEGIN,
    SNAPSHOT_STOCK,
    SNAPSHOT_RESERVATIONS,
    SNAPSHOT_END,
    ERROR,
)

# Error codes only /feed uses; the shared ones come from pos_core.protocol.
NOT_SUBSCRIBED = "not_subscribed"
ALREADY_SUBSCRIBED = "already_subscribed"
BAD_ACK = "bad_ack"
UNSUPPORTED_PROTOCOL = "unsupported_protocol"
SNAPSHOT_REQUIRED = "snapshot_required"
FEED_ERRORS = (
    BAD_JSON,
    BAD_MESSAGE,
    UNKNOWN_TYPE,
    NOT_SUBSCRIBED,
    ALREADY_SUBSCRIBED,
    BAD_ACK,
    UNSUPPORTED_PROTOCOL,
    SNAPSHOT_REQUIRED,
)
"""What an ``error`` frame on ``/feed`` may carry. A server failure closes the connection with 1011."""

# The event types the feed carries, each documented in docs/protocol.md and docs/asyncapi.yaml
# (tests/server/test_protocol_docs.py checks both, and that the use cases emit no other).
SALE_COMPLETED = "sale.completed"
STOCK_CHANGED = "stock.changed"
EVENT_TYPES = (
    SALE_COMPLETED,
    STOCK_CHANGED,
    "reservation.granted",
    "reservation.updated",
    "reservation.committed",
    "reservation.released",
    "reservation.expired",
    "reservation.at_risk",
    "inventory_exception.resolved",
    "order.placed",
    "order.updated",
    "order.picking",
    "order.ready",
    "order.picked_up",
    "order.shipped",
    "order.cancelled",
    "product.changed",
)

# How a subscription starts, and why a snapshot was sent.
REPLAY = "replay"
SNAPSHOT = "snapshot"
REQUESTED = "requested"
EPOCH_CHANGED = "epoch_changed"
AHEAD_OF_STORE = "ahead_of_store"
BEYOND_RETENTION = "beyond_retention"
TOO_FAR_BEHIND = "too_far_behind"
SNAPSHOT_REASONS = (REQUESTED, EPOCH_CHANGED, AHEAD_OF_STORE, BEYOND_RETENTION, TOO_FAR_BEHIND)

MAX_EPOCH_LEN = 64
LEVEL_FIELDS = ("on_hand", "reserved", "safety_stock", "available")

LevelRow = tuple[str, str, int, int, int]
"""``(sku, location, on_hand, reserved, safety_stock)`` as read from the store."""
OpenReservation = dict[str, Any]
"""A pending reservation as the ``reservation.*`` events carry it:
``{"reservation_id","status","location","expires_at","order_id","lines":[{"sku","quantity"}]}``."""


class FeedProtocolError(StoreError):
    """The other side broke the feed protocol, or the server answered with an error frame."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    """A consumer's subscribe: where it stopped and which store history that was in."""

    since: int
    protocol: int
    epoch: str | None
    snapshot: bool
    req: str | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    """A cumulative acknowledgement: every event up to ``seq`` is processed."""

    seq: int
    req: str | None = None


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where the store's feed stands."""

    epoch: str
    latest_seq: int
    oldest_seq: int
    """The oldest seq still stored; ``latest_seq + 1`` when the log is empty."""


@dataclass(frozen=True, slots=True)
class StockSnapshot:
    """Every stock level and every open (pending) reservation of the store, exactly as of
    ``as_of_seq`` (read in one transaction): each level's ``reserved`` is the sum of what the
    open reservations hold of it there."""

    epoch: str
    as_of_seq: int
    levels: Sequence[LevelRow]
    reservations: Sequence[OpenReservation] = ()


def subscribe_frame(
    since: int, epoch: str | None, *, snapshot: bool = False, protocol: int = FEED_PROTOCOL
) -> dict[str, Any]:
    """A subscribe (revision 2 or later): resume after ``since`` in ``epoch`` (None: not known yet)."""
    frame: dict[str, Any] = {"type": SUBSCRIBE, "protocol": protocol, "since": since}
    if epoch is not None:
        frame["epoch"] = epoch
    if snapshot:
        frame["snapshot"] = True
    return frame


def ack_frame(seq: int) -> dict[str, Any]:
    """A cumulative acknowledgement of every event up to ``seq``."""
    return {"type": ACK, "seq": seq}


def parse_consumer_message(frame: str | bytes) -> Subscribe | Ack:
    """Read one frame a consumer sent.

    Raises:
        ProtocolError: the frame is not a well-formed subscribe or ack; ``code`` says why.
    """
    message = decode(frame)
    kind, req = message["type"], message.get("req")
    if kind == SUBSCRIBE:
        return _subscribe(message, req)
    if kind == ACK:
        return Ack(field_int(message, "seq"), req)
    raise ProtocolError(UNKNOWN_TYPE, f"This server does not know {kind!r} on /feed; send 'subscribe' or 'ack'.", req)


def _subscribe(message: dict[str, Any], req: str | None) -> Subscribe:
    protocol = message.get("protocol", LEGACY_PROTOCOL)
    if type(protocol) is not int:
        raise ProtocolError(BAD_MESSAGE, f"'protocol' must be a whole number ({FEED_PROTOCOL} for this revision).", req)
    if protocol not in PROTOCOLS:
        raise ProtocolError(
            UNSUPPORTED_PROTOCOL,
            f"This server speaks feed protocol {', '.join(map(str, PROTOCOLS))}, not {protocol}; "
            f'subscribe with "protocol":{FEED_PROTOCOL}.',
            req,
        )
    since = field_int(message, "since", low=0)
    epoch = message.get("epoch")
    if epoch is not None and (not isinstance(epoch, str) or not epoch or len(epoch) > MAX_EPOCH_LEN):
        raise ProtocolError(
            BAD_MESSAGE,
            f"'epoch' must be the epoch string from 'subscribed' (at most {MAX_EPOCH_LEN} characters).",
            req,
        )
    snapshot = message.get("snapshot", False)
    if not isinstance(snapshot, bool):
        raise ProtocolError(BAD_MESSAGE, "'snapshot' must be true or false.", req)
    if protocol == LEGACY_PROTOCOL and (epoch is not None or snapshot):
        raise ProtocolError(
            BAD_MESSAGE,
            f"'epoch' and 'snapshot' need \"protocol\":{ACKED_PROTOCOL} or {FEED_PROTOCOL} in the subscribe.",
            req,
        )
    return Subscribe(since, protocol, epoch, snapshot, req)


def snapshot_reason(sub: Subscribe, position: LogPosition, threshold: int) -> str | None:
    """Why ``sub`` must start with a snapshot, or None to replay from ``sub.since``.

    Raises:
        ProtocolError: ``snapshot_required``, a revision 1 subscriber whose events are no longer stored.
    """
    pruned = sub.since + 1 < position.oldest_seq
    if sub.protocol == LEGACY_PROTOCOL:
        if pruned:
            raise ProtocolError(
                SNAPSHOT_REQUIRED,
                f'Events after seq {sub.since} are no longer stored; subscribe with "protocol":{FEED_PROTOCOL} '
                "to receive a snapshot.",
                sub.req,
            )
        return None
    checks = (
        (sub.snapshot, REQUESTED),
        (sub.epoch is not None and sub.epoch != position.epoch, EPOCH_CHANGED),
        (sub.since > position.latest_seq, AHEAD_OF_STORE),
        (pruned, BEYOND_RETENTION),
        (position.latest_seq - sub.since > threshold, TOO_FAR_BEHIND),
    )
    return next((reason for applies, reason in checks if applies), None)


class AckWindow:
    """What one consumer has been sent and has acknowledged, and how much more it may be sent.

    Args:
        start: the seq the consumer already has (its ``since``, or a snapshot's ``as_of_seq``).
        cap: the most events in flight beyond the last ack; None for revision 1 (no cap).
    """

    def __init__(self, start: int, cap: int | None) -> None:
        self.sent = start
        self.acked = start
        self.cap = cap

    def room(self, most: int) -> int:
        """How many more events may be sent now, at most ``most``."""
        if self.cap is None:
            return most
        return max(0, min(most, self.acked + self.cap - self.sent))

    def restart_at(self, seq: int) -> None:
        """The consumer now holds everything up to ``seq`` (a snapshot): nothing is in flight."""
        self.sent = self.acked = seq

    def record_sent(self, seq: int) -> None:
        """Call before the frame goes out: the consumer may ack it the moment it arrives."""
        self.sent = seq

    def on_ack(self, ack: Ack) -> None:
        """Take a cumulative ack; an older one than the last is harmless and ignored.

        Raises:
            ProtocolError: ``bad_ack``, the ack names a seq not sent on this connection.
        """
        if ack.seq > self.sent:
            raise ProtocolError(
                BAD_ACK, f"Ack {ack.seq} is beyond seq {self.sent}, the last one sent on this connection.", ack.req
            )
        self.acked = max(self.acked, ack.seq)


def subscribed_frame(
    sub: Subscribe, position: LogPosition, reason: str | None, *, max_unacked: int, heartbeat_s: float
) -> dict[str, Any]:
    """The reply to a subscribe; a revision 1 subscriber gets the revision 1 shape."""
    frame: dict[str, Any] = {
        "type": SUBSCRIBED,
        "protocol": sub.protocol,
        "epoch": position.epoch,
        "latest_seq": position.latest_seq,
    }
    if sub.protocol >= ACKED_PROTOCOL:
        frame.update(
            since=sub.since,
            resume=REPLAY if reason is None else SNAPSHOT,
            snapshot_reason=reason,
            max_unacked=max_unacked,
            heartbeat_s=heartbeat_s,
        )
    if sub.req is not None:
        frame["req"] = sub.req
    return frame


def events_messages(frames: Sequence[tuple[int, str]], max_bytes: int = MAX_EVENTS_BYTES) -> list[tuple[int, str]]:
    """Revision 3's ``events`` messages for ``(seq, event frame)`` pairs in seq order: as few as
    hold at most ``max_bytes`` of events each (one bigger event goes alone), each with the seq
    of its last event."""
    messages: list[tuple[int, str]] = []
    start = 0
    while start < len(frames):
        end, size = start + 1, len(frames[start][1].encode())
        while end < len(frames) and size + (more := len(frames[end][1].encode())) + 1 <= max_bytes:
            size += more + 1
            end += 1
        texts = ",".join(text for _, text in frames[start:end])
        messages.append((frames[end - 1][0], f'{{"type":"{EVENTS}","events":[{texts}]}}'))
        start = end
    return messages


def events_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events an ``events`` message carries, each an ``event`` frame, in order.

    Raises:
        FeedProtocolError: ``events`` is not a non-empty list of ``event`` frames.
    """
    events = message.get("events")
    if not isinstance(events, list) or not events:
        raise FeedProtocolError("The store server sent an 'events' message without events.")
    for event in events:
        if not isinstance(event, dict) or event.get("type") != EVENT:
            raise FeedProtocolError("The store server sent an 'events' message holding something else than events.")
    return events


def heartbeat_frame(latest_seq: int, window: AckWindow) -> dict[str, Any]:
    """A heartbeat; under revision 2 it also says what is in flight, so a stalled consumer can tell why."""
    frame: dict[str, Any] = {"type": HEARTBEAT, "latest_seq": latest_seq}
    if window.cap is not None:
        frame.update(sent_seq=window.sent, acked_seq=window.acked)
    return frame


def level_wire(row: LevelRow) -> dict[str, Any]:
    """One level as sent: absolute figures, ``available = on_hand - reserved - safety_stock``."""
    sku, location, on_hand, reserved, safety_stock = row
    return {
        "sku": sku,
        "location": location,
        "on_hand": on_hand,
        "reserved": reserved,
        "safety_stock": safety_stock,
        "available": on_hand - reserved - safety_stock,
    }


def snapshot_frames(snapshot: StockSnapshot, batch: int) -> Iterator[dict[str, Any]]:
    """``snapshot.begin``, ``snapshot.stock`` frames of up to ``batch`` levels, ``snapshot.reservations``
    frames of up to ``batch`` open reservations, then ``snapshot.end``."""
    count, held = len(snapshot.levels), len(snapshot.reservations)
    bounds = {"epoch": snapshot.epoch, "as_of_seq": snapshot.as_of_seq, "levels": count, "reservations": held}
    yield {"type": SNAPSHOT_BEGIN, **bounds}
    for start in range(0, count, batch):
        yield {"type": SNAPSHOT_STOCK, "levels": [level_wire(row) for row in snapshot.levels[start : start + batch]]}
    for start in range(0, held, batch):
        yield {"type": SNAPSHOT_RESERVATIONS, "reservations": list(snapshot.reservations[start : start + batch])}
    yield {"type": SNAPSHOT_END, **bounds}
