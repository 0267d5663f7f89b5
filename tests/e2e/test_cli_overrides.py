"""`pos store unlock-cashier` against a running demo store server, and `pos store overrides`, as
real processes. (Unlocking a cashier who is really locked out takes 10 wrong PINs and their
delays; tests/server/test_overrides.py does that in-process with the delays stubbed.)"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli import ENV, POS, pos

SAM_PIN = "2468"  # Sam Patel, the demo's manager
ALEX_PIN = "1234"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    data = tmp_path_factory.mktemp("store")
    assert pos("store", "init", "--data-dir", str(data), "--demo").returncode == 0
    token = pos("store", "token", "--data-dir", str(data), "--kind", "register", "--name", "Back office")
    token_file = data / "register.token"
    token_file.write_text(token.stdout)
    proc = subprocess.Popen(
        [*POS, "store", "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0", "--no-mdns"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    found = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", proc.stdout.readline())
    assert found
    yield data, found.group(1), token_file
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


def unlock(demo: tuple[Path, str, Path], cashier: str, manager: str, pin: str) -> subprocess.CompletedProcess[str]:
    _, url, token_file = demo
    return subprocess.run(
        [*POS, "store", "unlock-cashier", cashier, "--manager", manager, "--server", url, "--token-file",
         str(token_file)],
        input=pin + "\n", capture_output=True, text=True, timeout=60, env=ENV, check=False,
    )  # fmt: skip


def test_a_manager_unlocks_a_cashier_and_the_override_is_logged(demo: tuple[Path, str, Path]) -> None:
    done = unlock(demo, "Alex Morgan", "Sam Patel", SAM_PIN)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Alex Morgan was not locked out; the unlock, authorised by Sam Patel, is logged anyway.\n"
    assert SAM_PIN not in done.stdout + done.stderr

    listed = pos("store", "overrides", "--data-dir", str(demo[0]))
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["AT", "ACTION", "SUBJECT"]
    assert "cashier.unlock" in row
    assert "Sam Patel" in row


@pytest.mark.parametrize(
    ("cashier", "manager", "pin", "sentence"),
    [
        ("Sam Patel", "Alex Morgan", ALEX_PIN,
         "pos: Alex Morgan is not a manager, so cannot unlock a cashier locked out after too many wrong PINs; "
         "ask a manager.\n"),
        ("Alex Morgan", "Sam Patel", "0000", "pos: That PIN is wrong; try again.\n"),
        ("Sam Patel", "Sam Patel", SAM_PIN, "pos: A manager cannot unlock themself; ask another manager.\n"),
        ("Nobody", "Sam Patel", SAM_PIN, "pos: The store has no active cashier with the id or name 'Nobody'"),
        ("Alex Morgan", "Sam Patel", "", "pos: No manager's PIN was given;"),
    ],
)  # fmt: skip
def test_refused_unlocks_say_why_and_log_nothing(
    demo: tuple[Path, str, Path], cashier: str, manager: str, pin: str, sentence: str
) -> None:
    before = pos("store", "overrides", "--data-dir", str(demo[0])).stdout
    refused = unlock(demo, cashier, manager, pin)
    assert refused.returncode == 1
    assert refused.stderr.startswith(sentence)
    assert pos("store", "overrides", "--data-dir", str(demo[0])).stdout == before
