"""ESC/POS real-time status (``DLE EOT n``): what the printer says about paper, cover and drawer.

Epson's ESC/POS reference, DLE EOT n (``10 04 n``), one answer byte each; every valid answer has
bits 1 and 4 set and bits 0 and 7 clear (``byte & 0x93 == 0x12``):

====  ===================  ==========================================================
n     status               bits we read
====  ===================  ==========================================================
1     printer              bit 2: drawer kick-out connector pin 3 is high;
                           bit 3: offline
2     offline cause        bit 2: cover open; bit 5: stopped because paper ran out;
                           bit 6: an error occurred
4     roll paper sensor    bits 2+3: paper near its end; bits 5+6: paper out
====  ===================  ==========================================================

A question that gets no answer, or an answer that is not a valid status byte, leaves that field
*unknown*: a silent printer is never reported as fine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

STATUS_QUERIES = (1, 2, 4)
"""The ``n`` we ask for, in the order the answers come back."""


def status_request(n: int) -> bytes:
    """``DLE EOT n``."""
    return b"\x10\x04" + bytes([n])


STATUS_REQUEST = b"".join(status_request(n) for n in STATUS_QUERIES)


class Health(enum.Enum):
    """A device's health, as a lane screen shows it."""

    ONLINE = "online"  # answering and ready
    OFFLINE = "offline"  # answering but cannot work: cover open, paper out, error
    OFF = "off"  # cannot be reached: switched off, unplugged, wrong address
    UNKNOWN = "unknown"  # reachable but silent, or cannot report (a file, a printer without status)


class Paper(enum.Enum):
    OK = "ok"
    NEAR_END = "near end"
    OUT = "out"
    UNKNOWN = "unknown"


class Drawer(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    health: Health
    paper: Paper = Paper.UNKNOWN
    cover_open: bool | None = None
    drawer: Drawer = Drawer.UNKNOWN
    error: bool | None = None

    def problem(self) -> str | None:
        """A sentence for the cashier when something needs doing, else None; the worst comes first."""
        checks = (
            (self.health is Health.OFF, "The receipt printer does not answer; check it is on and connected."),
            (bool(self.cover_open), "The receipt printer's cover is open; close it."),
            (self.paper is Paper.OUT, "The receipt printer is out of paper; load a new roll."),
            (bool(self.error), "The receipt printer reports an error; switch it off and on again."),
            (self.health is Health.OFFLINE, "The receipt printer is offline; check its cover and paper."),
            (self.paper is Paper.NEAR_END, "The receipt paper is nearly out; have a new roll ready."),
            (self.health is Health.UNKNOWN, "The receipt printer does not report its status; check it by eye."),
        )
        return next((sentence for failing, sentence in checks if failing), None)


def _valid(byte: int | None) -> bool:
    return byte is not None and byte & 0x93 == 0x12


def decode_status(answers: bytes, *, drawer_open_when_high: bool = False) -> PrinterStatus:
    """Decode the answers to ``STATUS_REQUEST`` (one byte each for n = 1, 2, 4; may be short).

    Args:
        answers: what came back, possibly fewer than three bytes.
        drawer_open_when_high: whether this drawer's switch pulls pin 3 high when open; drawers
            differ, so the setting comes from the lane configuration.
    """
    printer, offline, paper = (answers[i] if i < len(answers) else None for i in range(3))
    if not _valid(printer):
        return PrinterStatus(Health.UNKNOWN)
    assert printer is not None
    is_offline = bool(printer & 0x08)
    pin_high = bool(printer & 0x04)
    drawer = Drawer.OPEN if pin_high == drawer_open_when_high else Drawer.CLOSED
    cover_open: bool | None = None
    error: bool | None = None
    paper_out_stop = False
    if _valid(offline):
        assert offline is not None
        cover_open = bool(offline & 0x04)
        paper_out_stop = bool(offline & 0x20)
        error = bool(offline & 0x40)
    paper_state = Paper.UNKNOWN
    if _valid(paper):
        assert paper is not None
        if paper & 0x60 == 0x60:
            paper_state = Paper.OUT
        elif paper & 0x0C == 0x0C:
            paper_state = Paper.NEAR_END
        else:
            paper_state = Paper.OK
    if paper_out_stop:
        paper_state = Paper.OUT
    health = Health.OFFLINE if is_offline or cover_open or error or paper_state is Paper.OUT else Health.ONLINE
    return PrinterStatus(health, paper_state, cover_open, drawer, error)
