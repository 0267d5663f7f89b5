"""Telling a keyboard-wedge barcode scanner from a person typing, as pure functions.

A wedge scanner "types" its data as key presses: many characters, each within a few
milliseconds of the last, ended by a terminator (Enter by default). A person types slower and
rarely that many characters in a burst. The UI feeds key presses with their times in; what comes
out is a ``Scan`` (data with any AIM symbology identifier stripped) or nothing.

AIM identifiers (ISO/IEC 15424) are three characters ``]cm`` the scanner may prefix: ``]`` then a
code character naming the symbology and a modifier, e.g. ``]E0`` EAN-13/UPC-A, ``]C1`` GS1-128.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

AIM_SYMBOLOGIES = {
    "A": "Code 39",
    "C": "Code 128",
    "E": "EAN/UPC",
    "F": "Codabar",
    "G": "Code 93",
    "I": "Interleaved 2 of 5",
    "L": "PDF417",
    "Q": "QR Code",
    "X": "other",
    "d": "Data Matrix",
    "e": "GS1 DataBar",
    "z": "Aztec",
}
AIM_VARIANTS = {"C1": "GS1-128", "E4": "EAN-8", "d2": "GS1 DataMatrix", "Q3": "GS1 QR Code"}


@dataclass(frozen=True, slots=True)
class KeyStroke:
    """One character as the UI saw it, ``at_ms`` on a monotonic clock in milliseconds."""

    char: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class WedgeRules:
    """How this lane's scanner behaves; defaults fit common USB HID scanners."""

    max_gap_ms: int = 30
    """Longest pause between two scanner characters. USB scanners send a character every few
    ms; a quick typist on a keypad reaches 40-60 ms, and a PIN typed that fast must stay a PIN."""
    min_length: int = 7
    """Shortest data counted as a scan: longer than a PIN (4-6 digits are typed, not scanned);
    EAN-8, the shortest retail symbol, is 8."""
    terminators: frozenset[str] = field(default_factory=lambda: frozenset({"\r", "\n", "\t"}))
    require_terminator: bool = True


DEFAULT_RULES = WedgeRules()


@dataclass(frozen=True, slots=True)
class Scan:
    data: str
    aim_id: str | None = None
    symbology: str | None = None


def split_aim(text: str) -> tuple[str | None, str]:
    """``("]E0", "4006381333931")`` for ``"]E04006381333931"``; ``(None, text)`` without an identifier."""
    if len(text) >= 3 and text[0] == "]" and text[1].isascii() and text[1].isalpha() and text[2].isalnum():
        return text[:3], text[3:]
    return None, text


def symbology_name(aim_id: str) -> str | None:
    """The symbology an AIM identifier names, or None when we do not know the code character."""
    return AIM_VARIANTS.get(aim_id[1:3]) or AIM_SYMBOLOGIES.get(aim_id[1:2])


def parse_scan(text: str) -> Scan:
    """``text`` as a ``Scan``: its AIM identifier split off and named (the wedge and serial scanners share this)."""
    aim_id, data = split_aim(text)
    return Scan(data, aim_id, symbology_name(aim_id) if aim_id else None)


def detect_scan(keys: Sequence[KeyStroke], rules: WedgeRules = DEFAULT_RULES) -> Scan | None:
    """A ``Scan`` if ``keys`` (a whole burst, terminator last) came from a scanner, else None.

    A burst is a scan when every pause between keys, the terminator included, is at most
    ``max_gap_ms``, it ends with a terminator (if required), and the data after removing the
    AIM identifier has at least ``min_length`` characters.
    """
    if not keys:
        return None
    chars = [k.char for k in keys]
    ended = chars[-1] in rules.terminators
    if rules.require_terminator and not ended:
        return None
    body = "".join(chars[:-1] if ended else chars)
    if any(ch in rules.terminators for ch in body):
        return None
    if any(later.at_ms - earlier.at_ms > rules.max_gap_ms for earlier, later in pairwise(keys)):
        return None
    scan = parse_scan(body)
    if len(scan.data) < rules.min_length or not scan.data.isprintable():
        return None
    return scan


class WedgeBuffer:
    """Collects key presses and says when a burst was a scan (the UI's key filter calls ``feed``).

    A pause longer than ``max_gap_ms`` starts a new burst; a terminator ends one.
    """

    def __init__(self, rules: WedgeRules = DEFAULT_RULES) -> None:
        self.rules = rules
        self._keys: list[KeyStroke] = []

    def feed(self, key: KeyStroke) -> Scan | None:
        if self._keys and key.at_ms - self._keys[-1].at_ms > self.rules.max_gap_ms:
            self._keys.clear()
        self._keys.append(key)
        if key.char in self.rules.terminators:
            burst, self._keys = self._keys, []
            return detect_scan(burst, self.rules)
        return None
