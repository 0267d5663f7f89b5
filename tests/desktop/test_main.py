"""Starting the register: no display, Ctrl-C, and a clean stop with no threads left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from pos_desktop.app.main import create_register, run_register
from pos_desktop.display import NO_DISPLAY
from tests.desktop.conftest import RunningStore

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_display_it_says_what_to_do_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux can lack a display")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    code = run_register(
        server_url="ws://127.0.0.1:1", token="t", data_dir=tmp_path, mdns_interface=None, printer="none",
        register_name="Till 1",
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == NO_DISPLAY
    assert err.count("\n") == 1


def test_ctrl_c_quits_cleanly(store: RunningStore, tmp_path: Path) -> None:
    # The app exists before run_register (which reuses it) so a timer can say when its event loop runs.
    script = (
        "import pathlib, sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from pos_desktop.app.main import run_register\n"
        "app = QApplication([])\n"
        "QTimer.singleShot(0, lambda: print('running', flush=True))\n"
        "sys.exit(run_register(server_url=sys.argv[1], token=sys.argv[2], data_dir=pathlib.Path(sys.argv[3]),"
        " mdns_interface=None, printer='none', register_name='Till 1'))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-X", "dev", "-c", script, store.url, store.token, str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "data").is_dir()


def test_shutdown_leaves_no_threads(qtbot: QtBot, store: RunningStore, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    window = create_register(
        store.url, store.token, printer=f"file:{tmp_path / 'r.bin'}", register_name="Till 1", data_dir=tmp_path
    )
    qtbot.addWidget(window)
    window.start()
    qtbot.waitUntil(lambda: len(window.login_view.cashier_buttons) == 2, timeout=15_000)
    window.shutdown()
    # The store server runs in this process too; its database threads start when first needed.
    leftover = [
        t for t in threading.enumerate() if t not in before and t.is_alive() and not t.name.startswith("store-db")
    ]
    assert leftover == []
