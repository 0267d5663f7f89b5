"""`pos store cashier add|role|deactivate` and `pos store cashiers` as real processes: the PIN comes
on standard input (never argv), refusals are one sentence with exit 1 and write nothing, and the
cashier added logs in at a running server with that PIN."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import ENV, POS, pos

NEW_PIN = "80451"


def cashier(data: Path, *args: str, pin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POS, "store", "cashier", *args, "--data-dir", str(data)],
        input=None if pin is None else pin + "\n", capture_output=True, text=True, timeout=60, env=ENV, check=False,
    )  # fmt: skip


def listed(data: Path) -> list[list[str]]:
    done = pos("store", "cashiers", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "ROLE", "ACTIVE"]
    return [re.split(r"\s{2,}", row) for row in rows]


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    return done.stderr


@pytest.fixture
def store(tmp_path: Path) -> Path:
    assert pos("store", "init", "--data-dir", str(tmp_path), "--demo").returncode == 0
    return tmp_path


def test_cashiers_are_added_promoted_and_deactivated(store: Path) -> None:
    added = cashier(store, "add", "Jo Lee", "--role", "manager", pin=NEW_PIN)
    assert added.returncode == 0, added.stderr
    assert re.fullmatch(
        r"Added Jo Lee \([0-9a-f-]{36}\) as a manager; they can log in at the register with their PIN.\n", added.stdout
    )
    assert NEW_PIN not in added.stdout + added.stderr

    promoted = cashier(store, "role", "Alex Morgan", "manager")
    assert promoted.returncode == 0, promoted.stderr
    assert re.fullmatch(r"Alex Morgan \([0-9a-f-]{36}\) is now a manager.\n", promoted.stdout)
    same = cashier(store, "role", "Alex Morgan", "manager")
    assert same.stdout.endswith(") is already a manager; nothing changed.\n")
    gone = cashier(store, "deactivate", "Alex Morgan")
    assert gone.returncode == 0, gone.stderr
    assert "can no longer log in or authorise overrides" in gone.stdout

    rows = {row[1]: row[2:] for row in listed(store)}
    assert rows == {"Alex Morgan": ["manager", "no"], "Jo Lee": ["manager", "yes"], "Sam Patel": ["manager", "yes"]}
    listing = pos("store", "cashiers", "--data-dir", str(store)).stdout
    assert "scrypt" not in listing
    assert NEW_PIN not in listing


@pytest.mark.parametrize(
    ("args", "pin", "sentence"),
    [
        (("add", "alex morgan"), NEW_PIN, "pos: There is already an active cashier called 'Alex Morgan';"),
        (("add", "Kim"), "12", "pos: A PIN must be 4 to 12 digits (0-9).\n"),
        (("add", "Kim"), "12345abc", "pos: A PIN must be 4 to 12 digits (0-9).\n"),
        (("add", "Kim"), "", "pos: No PIN was given; type it at the prompt or send it as one line on standard input."),
        (("role", "Sam Patel", "cashier"), None,
         "pos: Sam Patel is the store's last active manager, so we cannot make them a cashier: nobody could "
         "authorise an override; make another cashier a manager first.\n"),
        (("deactivate", "Sam Patel"), None, "pos: Sam Patel is the store's last active manager, so we cannot"),
        (("role", "Nobody", "manager"), None,
         "pos: The store has no cashier with the id or name 'Nobody'; `pos store cashiers` lists them.\n"),
        (("deactivate", "Nobody"), None, "pos: The store has no cashier with the id or name 'Nobody';"),
    ],
)  # fmt: skip
def test_refusals_are_one_sentence_and_write_nothing(
    store: Path, args: tuple[str, ...], pin: str | None, sentence: str
) -> None:
    before = listed(store)
    said = refused(cashier(store, *args, pin=pin))
    assert said.startswith(sentence)
    assert NEW_PIN not in said
    assert listed(store) == before


def test_a_missing_store_is_said_before_a_pin_is_asked_for(tmp_path: Path) -> None:
    said = refused(cashier(tmp_path, "add", "Kim", pin=NEW_PIN))
    assert said.startswith(f"pos: There is no store in {tmp_path}; create one with `pos store init")


def test_a_cashier_added_while_the_server_runs_logs_in_with_their_pin(store: Path) -> None:
    from pos_desktop.lane.client import RegisterClient

    token = pos("store", "token", "--data-dir", str(store), "--kind", "register", "--name", "Till 9").stdout.strip()
    server = subprocess.Popen(
        [*POS, "store", "serve", "--data-dir", str(store), "--host", "127.0.0.1", "--port", "0", "--no-mdns"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        found = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", server.stdout.readline())
        assert found
        added = cashier(store, "add", "Kim Ode", pin=NEW_PIN)  # beside the running server, which needs no restart
        assert added.returncode == 0, added.stderr

        async def log_in() -> str:
            client = RegisterClient(f"{found.group(1)}/register", token)
            try:
                await client.connect()
                kim = next(c for c in await client.cashiers() if c.name == "Kim Ode")
                return (await client.login(kim.id, NEW_PIN)).name
            finally:
                await client.close()

        assert asyncio.run(asyncio.wait_for(log_in(), 60)) == "Kim Ode"
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
