"""Whether a window can open here, asked before Qt is imported (no Qt in this module)."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from pathlib import Path

NO_DISPLAY = (
    "No display found: run this on a desktop, or start a virtual one with `Xvfb :99 & export DISPLAY=:99`,"
    " or set QT_QPA_PLATFORM=offscreen for a headless run."
)
X11_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0"
)


def display_available() -> bool:
    """False on Linux when Qt would have nowhere to draw (no X11, no Wayland, no platform chosen)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))


def _xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def missing_x11_library() -> str | None:
    """The first system library Qt's X11 plugin needs and cannot find, or None when it loads.

    Qt aborts the whole process with a cryptic message when the plugin cannot load, so we
    try loading it first and name what is missing.
    """
    plugin = _xcb_plugin()
    if plugin is None:
        return None
    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY)
    except OSError as exc:
        found = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file", str(exc))
        return found.group(1) if found else str(exc)
    return None


def display_problem() -> str | None:
    """One sentence saying why the register cannot open a window here, or None when it can."""
    if not display_available():
        return NO_DISPLAY
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    uses_x11 = sys.platform.startswith("linux") and (
        platform.startswith("xcb") or (not platform and not os.environ.get("WAYLAND_DISPLAY"))
    )
    if uses_x11 and (missing := missing_x11_library()):
        return (
            f"The register cannot open a window: Qt's X11 support needs {missing}, which is not installed; "
            f"on Debian or Ubuntu run `sudo apt-get install {X11_PACKAGES}`, "
            "or set QT_QPA_PLATFORM=offscreen for a headless run."
        )
    return None
