"""What crosses from the lane's loop thread to the Qt thread about the store server.

(The devices have their own: ``pos_desktop.app.device_bridge.DeviceBridge``.)

Coroutines emit these signals; Qt queues them to slots on the GUI thread, because the
bridge lives there. Widgets never await and coroutines never touch widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class LaneBridge(QObject):
    """What happened on the lane, in the past tense. Payloads are immutable value objects."""

    connected = Signal(object)
    """``Welcome``: connected (or reconnected) to the store server."""
    connection_failed = Signal(str)
    """A sentence: the first connection or the catalogue load failed."""
    connection_lost = Signal(str)
    """A sentence: an open connection dropped; the lane keeps trying in the background."""
    catalogue_loaded = Signal(object, object)
    """``Welcome``, ``Catalogue``: ready to sell."""
    catalogue_changed = Signal(object, object)
    """``list[Product]`` changed (their new state), ``list[str]`` SKUs no longer sold: the
    store changed its catalogue while the lane runs; later scans take the new prices."""
    catalogue_replaced = Signal(object)
    """``Catalogue``, read again whole: the store could not tell what changed (a restored backup)."""
    cashiers_loaded = Signal(object)
    """``list[Cashier]`` who may log in."""
    login_succeeded = Signal(object)
    """``Cashier``."""
    login_failed = Signal(str)
    """The server's sentence, e.g. for a wrong PIN."""
    sale_committed = Signal(object, object)
    """``Sale``, ``Acceptance``: the store server has the sale."""
    sale_failed = Signal(object, str)
    """``Sale``, a sentence: the outcome is unknown (no answer); the server may have the sale."""
    sale_refused = Signal(object, str, str)
    """``Sale``, the error code, the server's sentence: the server answered that it refused the sale."""
    relogin_refused = Signal(str)
    """A sentence: after a reconnect the server refused to log the cashier in again."""
    override_authorised = Signal(object)
    """``Authorisation``: a manager's PIN was accepted and the store logged the override."""
    override_refused = Signal(str)
    """The server's sentence (wrong PIN, not a manager, ...), or why it could not be asked."""
