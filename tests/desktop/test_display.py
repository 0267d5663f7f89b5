"""The register says in one sentence why no window can open, before Qt aborts the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_desktop import display


def test_no_display_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert display.display_problem() == display.NO_DISPLAY


def test_a_broken_x11_plugin_names_the_cause_and_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(b"not a shared object")
    monkeypatch.setattr(display, "_xcb_plugin", lambda: broken)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    problem = display.display_problem()
    assert problem is not None
    assert problem.startswith("The register cannot open a window: Qt's X11 support needs")
    assert "apt-get install libxcb-cursor0" in problem


def test_offscreen_and_wayland_do_not_need_x11_libraries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(b"not a shared object")
    monkeypatch.setattr(display, "_xcb_plugin", lambda: broken)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display.display_problem() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert display.display_problem() is None


def test_missing_library_is_named_from_the_loader_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(path: str, mode: int = 0) -> None:
        raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(display, "_xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(display.ctypes, "CDLL", refuse)
    assert display.missing_x11_library() == "libxcb-icccm.so.4"
