"""Whether a window can open here, asked before Qt is imported (no Qt in this module)."""

from __future__ import annotations

import os
import sys

NO_DISPLAY = (
    "No display found: run this on a desktop, or start a virtual one with `Xvfb :99 & export DISPLAY=:99`,"
    " or set QT_QPA_PLATFORM=offscreen for a headless run."
)


def display_available() -> bool:
    """False on Linux when Qt would have nowhere to draw (no X11, no Wayland, no platform chosen)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
