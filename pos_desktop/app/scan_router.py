"""``ScanRouter``: scans go only to the screen that asked for them, from a wedge or a serial scanner.

A wedge scanner types its barcode as fast key presses ended by Enter (``peripherals.wedge``).
Into the sale screen's scan field that is what we want; into a PIN pad or the cash amount it
would be a wrong PIN or a payment of €4,004,351,060,832. So the fields that must never take a
scan are *guarded*: their key presses are watched, and a burst that turns out to be a scan is
taken back out of the field (its text restored), its Enter swallowed, and the scan handed to the
screen that *asked* for scans if that screen is the one in front, else refused with a sentence.

A serial scanner's codes (``route``) take the same way without touching any field: to the screen
that asked if it is in front, else refused by the guarded field in front (the PIN pad, the cash
amount) with its sentence, else dropped and logged.

Timing comes from the key events' own timestamps (set by the window system), so a GUI thread
that was busy for a moment does not make a person's typing look like a scan. Key events
without a timestamp (synthetic ones, e.g. from QTest) count as typed by a person.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from peripherals.wedge import DEFAULT_RULES, KeyStroke, Scan, WedgeRules, detect_scan

log = logging.getLogger(__name__)

_TERMINATORS = {Qt.Key.Key_Return.value: "\r", Qt.Key.Key_Enter.value: "\r", Qt.Key.Key_Tab.value: "\t"}


@runtime_checkable
class TypedState(Protocol):
    """A guarded widget that is not a ``QLineEdit`` says what was typed, and puts it back."""

    def typed_state(self) -> object: ...
    def restore_typed(self, state: object) -> None: ...


@dataclass
class _Guard:
    field: QWidget
    on_refused: Callable[[str], None]
    keys: list[KeyStroke]
    before: object = None


class ScanRouter(QObject):
    """Owns the rule "scans only where asked"; one per register window."""

    def __init__(self, parent: QObject | None = None, rules: WedgeRules = DEFAULT_RULES) -> None:
        super().__init__(parent)
        self.rules = rules
        self._askers: list[tuple[QWidget, Callable[[Scan], None]]] = []
        self._guards: dict[int, _Guard] = {}

    def ask(self, screen: QWidget, on_scan: Callable[[Scan], None]) -> None:
        """``screen`` takes scans while it is shown and no modal dialog is in front of it."""
        self._askers = [(w, f) for w, f in self._askers if w is not screen] + [(screen, on_scan)]
        screen.destroyed.connect(functools.partial(self._forget_asker, id(screen)))

    def guard(self, field: QWidget, on_refused: Callable[[str], None]) -> None:
        """Keep scans out of ``field``; ``on_refused`` gets the scanned code when no screen that asked is in front."""
        self._guards[id(field)] = _Guard(field, on_refused, [])
        field.installEventFilter(self)
        field.destroyed.connect(functools.partial(self._forget_guard, id(field)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        guard = self._guards.get(id(watched))
        if guard is None or event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        char = _TERMINATORS.get(event.key(), event.text())
        at_ms = int(event.timestamp())
        if not at_ms or len(char) != 1 or not (char.isprintable() or char in self.rules.terminators):
            guard.keys.clear()  # typed by a person, or a key that is not part of a barcode
            return False
        if guard.keys and at_ms - guard.keys[-1].at_ms > self.rules.max_gap_ms:
            guard.keys.clear()
        if not guard.keys:
            guard.before = _typed(guard.field)
        guard.keys.append(KeyStroke(char, at_ms))
        if char not in self.rules.terminators:
            return False
        burst, guard.keys = guard.keys, []
        scan = detect_scan(burst, self.rules)
        if scan is None:
            return False
        _restore(guard.field, guard.before)
        self._deliver(scan, guard)
        return True  # the scanner's Enter must not confirm a payment or a login

    def route(self, scan: Scan) -> None:
        """A scan that did not come through a field (a serial scanner): same rule, "only where asked"."""
        if self._to_asker(scan):
            return
        for guard in reversed(list(self._guards.values())):
            if _in_front(guard.field):
                guard.on_refused(scan.data)
                return
        log.info("scan %s dropped: no screen that takes scans is in front", scan.data)

    def _deliver(self, scan: Scan, guard: _Guard) -> None:
        if not self._to_asker(scan):
            guard.on_refused(scan.data)

    def _to_asker(self, scan: Scan) -> bool:
        for screen, on_scan in reversed(self._askers):
            if _in_front(screen):
                on_scan(scan)
                return True
        return False

    def _forget_asker(self, screen_id: int, *_destroyed: object) -> None:
        self._askers = [(w, f) for w, f in self._askers if id(w) != screen_id]

    def _forget_guard(self, field_id: int, *_destroyed: object) -> None:
        self._guards.pop(field_id, None)


def _in_front(screen: QWidget) -> bool:
    if not screen.isVisible():
        return False
    modal = QApplication.activeModalWidget()
    return modal is None or modal is screen or modal.isAncestorOf(screen)


def _typed(field: QWidget) -> object:
    if isinstance(field, QLineEdit):
        return (field.text(), field.cursorPosition())
    if isinstance(field, TypedState):
        return field.typed_state()
    return None


def _restore(field: QWidget, state: object) -> None:
    if isinstance(field, QLineEdit) and isinstance(state, tuple):
        text, cursor = state
        field.setText(text)
        field.setCursorPosition(cursor)
    elif isinstance(field, TypedState):
        field.restore_typed(state)
