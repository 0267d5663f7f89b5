"""The feed's high-water mark, kept outside the database so a restored backup is noticed.

The store server writes ``(store id, epoch, last seq)`` to a small file (``DATA_DIR/feed.position``
by default) when it starts, every few seconds while events are committed, and when it stops. At
the next start, a database whose ``last_seq`` is below the recorded mark for the same store and
epoch has gone back in time (a backup was restored): its seqs after the restore point would be
reused for different changes, so the server gives the feed a new epoch and every storefront
takes a snapshot (``docs/protocol.md``, Epochs; ``docs/operations.md``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from store_server.errors import StoreError

log = logging.getLogger(__name__)

POSITION_FILE = "feed.position"


@dataclass(frozen=True, slots=True)
class FeedMark:
    """The furthest the feed has been seen to reach in one store's epoch."""

    store_id: str
    epoch: str
    last_seq: int


def position_file_for(db_path: str | None) -> Path | None:
    """``feed.position`` next to a SQLite file; None for an in-memory database."""
    if not db_path or db_path == ":memory:":
        return None
    return Path(db_path).parent / POSITION_FILE


def read_mark(path: Path) -> FeedMark | None:
    """The recorded mark, or None when there is none (or it cannot be read: it is rewritten)."""
    try:
        data = json.loads(path.read_text())
        return FeedMark(str(data["store_id"]), str(data["epoch"]), int(data["last_seq"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable feed position file %s (%s)", path, exc.__class__.__name__)
        return None


_WRITING = threading.Lock()
"""Held while this process writes a position file."""


def write_mark(path: Path, mark: FeedMark) -> None:
    """Replace the file atomically (write a sibling, fsync, rename).

    One write at a time in this process: a stopping server records its mark while the write
    of its periodic task, cancelled but already on a thread, may still be running, and both
    use the same sibling. (Another process cannot: the server holds the position file's lock,
    ``store_server.serving_lock``.)

    Raises:
        StoreError: the file cannot be written.
    """
    tmp = path.with_name(path.name + ".tmp")
    body = json.dumps({"store_id": mark.store_id, "epoch": mark.epoch, "last_seq": mark.last_seq}) + "\n"
    try:
        with _WRITING:
            with open(tmp, "w") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(
            f"Cannot write the feed position file {path} ({exc.strerror}); make its directory writable."
        ) from None


def is_restored(recorded: FeedMark | None, current: FeedMark) -> bool:
    """True when ``current`` is behind what was recorded for the same store and epoch."""
    return (
        recorded is not None
        and recorded.store_id == current.store_id
        and recorded.epoch == current.epoch
        and current.last_seq < recorded.last_seq
    )
