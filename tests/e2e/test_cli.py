"""The `pos` commands a newcomer runs, as real processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_cli.bench_store_run import proc_stat, server_processes

POS = [sys.executable, "-m", "pos_cli.main"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def pos(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*POS, *args], capture_output=True, text=True, timeout=timeout, env=ENV, check=False)


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, data_dir: Path, register: str, storefront: str) -> None:
        self.proc, self.url, self.data_dir = proc, url, data_dir
        self.register_token, self.storefront_token = register, storefront


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("store")
    init = pos("store", "init", "--data-dir", str(data), "--demo")
    assert init.returncode == 0, init.stderr
    assert "Harbour Street Market" in init.stdout
    register = pos("store", "token", "--data-dir", str(data), "--kind", "register", "--name", "Till 9")
    storefront = pos("store", "token", "--data-dir", str(data), "--kind", "storefront", "--name", "web")
    assert register.returncode == 0
    assert storefront.returncode == 0
    proc = subprocess.Popen(
        [*POS, "store", "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0", "--no-mdns"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", line)
    assert found, line + (proc.stderr.read() if proc.stderr else "")
    yield Served(proc, found.group(1), data, register.stdout.strip(), storefront.stdout.strip())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Store server stopped." in out


def test_a_simulated_lane_sells_and_the_feed_shows_every_event_in_order(served: Served) -> None:
    sim = pos("sim", "lane", "--server", served.url, "--token", served.register_token, "--sales", "4", "--seed", "5")
    assert sim.returncode == 0, sim.stderr
    assert "4 of 4 sales acknowledged" in sim.stdout
    events = _feed_json(served, since=0, count=4)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[0]["type"] == "sale.completed"
    assert all({"seq", "type", "at", "data"} <= set(e) for e in events)
    resumed = _feed_json(served, since=2, count=2)
    assert [e["seq"] for e in resumed] == [3, 4]


def _feed_json(served: Served, *, since: int, count: int) -> list[dict[str, object]]:
    feed = pos("feed", "--server", served.url, "--token", served.storefront_token, "--json",
               "--since", str(since), "--count", str(count), timeout=30)  # fmt: skip
    assert feed.returncode == 0, feed.stderr
    lines = feed.stdout.splitlines()
    assert len(lines) == count
    return [json.loads(line) for line in lines]


def test_a_wrong_token_gets_one_sentence_and_no_feed(served: Served) -> None:
    feed = pos("feed", "--server", served.url, "--token", "not-a-token", "--count", "1", timeout=30)
    assert feed.returncode == 1
    assert feed.stdout == ""
    assert feed.stderr.strip().startswith("pos: ")
    assert "Traceback" not in feed.stderr
    wrong_kind = pos("sim", "lane", "--server", served.url, "--token", served.storefront_token, "--sales", "1")
    assert wrong_kind.returncode == 1
    assert "Traceback" not in wrong_kind.stderr


@pytest.mark.parametrize("server", ["127.0.0.1:8765", "http://127.0.0.1:8765", "localhost", "ws://127.0.0.1:99999"])
def test_a_mistyped_server_address_is_one_sentence(server: str) -> None:
    for command in (
        ["feed"],
        ["sim", "lane", "--sales", "1"],
        ["store", "unlock-cashier", "--manager", "Ana", "cashier-1"],
    ):
        done = pos(*command, "--server", server, "--token", "not-a-token", timeout=30)
        assert done.returncode == 1, (command, done.stderr)
        said = f"pos: {server} is not a store server address; it looks like ws://host:8765.\n"
        assert done.stderr == said, (command, done.stderr)


@pytest.mark.parametrize("count", ["0", "-1"])
def test_a_feed_count_below_one_is_one_sentence(count: str) -> None:
    done = pos("feed", "--count", count, "--token", "not-a-token", timeout=30)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "pos: --count must be at least 1; leave it out to follow the feed until Ctrl+C.\n"


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_before_anything_starts(port: str, tmp_path: Path) -> None:
    served = pos("store", "serve", "--data-dir", str(tmp_path), "--port", port, "--no-mdns", timeout=30)
    assert served.returncode == 2
    assert f"argument --port: '{port}' is not a port" in served.stderr
    assert "Traceback" not in served.stderr


def test_a_port_in_use_is_one_sentence(served: Served, tmp_path: Path) -> None:
    port = served.url.rsplit(":", 1)[1]
    assert pos("store", "init", "--data-dir", str(tmp_path)).returncode == 0
    second = pos("store", "serve", "--data-dir", str(tmp_path), "--host", "127.0.0.1", "--port", port,
                 "--no-mdns", timeout=30)  # fmt: skip
    assert second.returncode == 1
    assert f"Port {port}" in second.stderr
    assert "already in use" in second.stderr
    assert "Traceback" not in second.stderr


def test_a_second_server_on_the_same_data_dir_is_one_sentence_and_writes_nothing(served: Served) -> None:
    before = {p.name: p.read_bytes() for p in served.data_dir.iterdir() if p.name.endswith((".position", ".lock"))}
    second = pos("store", "serve", "--data-dir", str(served.data_dir), "--host", "127.0.0.1", "--port", "0",
                 "--no-mdns", timeout=30)  # fmt: skip
    assert second.returncode == 1
    assert second.stderr.startswith("pos: Another store server (process ")
    assert f"process {served.proc.pid})" in second.stderr
    assert "Traceback" not in second.stderr
    after = {p.name: p.read_bytes() for p in served.data_dir.iterdir() if p.name.endswith((".position", ".lock"))}
    assert after == before
    assert served.proc.poll() is None


def test_the_served_stores_writer_has_a_cpu_of_its_own(served: Served) -> None:
    sim = pos("sim", "lane", "--server", served.url, "--token", served.register_token, "--sales", "1", "--seed", "9")
    assert sim.returncode == 0, sim.stderr  # the writer process starts with the first write
    usable = sorted(os.sched_getaffinity(0))
    writers = [p for p in server_processes(served.proc.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(writers) == 1
    server = [sorted(os.sched_getaffinity(int(t.name))) for t in Path(f"/proc/{served.proc.pid}/task").iterdir()]
    if len(usable) < 2:  # one CPU: nothing to give
        assert sorted(os.sched_getaffinity(writers[0])) == usable
        assert all(cpus == usable for cpus in server)
        return
    assert sorted(os.sched_getaffinity(writers[0])) == [usable[-1]]
    assert all(cpus == usable[:-1] for cpus in server), server


def test_a_writer_cpu_the_server_cannot_use_is_one_sentence(tmp_path: Path) -> None:
    assert pos("store", "init", "--data-dir", str(tmp_path)).returncode == 0
    for extra, said in [
        (["--writer-cpu", "4096"], "--writer-cpu 4096: this server may run on CPUs"),
        (["--writer", "thread", "--writer-cpu", "0"], "--writer-cpu 0 needs --writer process"),
        (["--writer", "thread", "--writer-cpu", "bogus"], "--writer-cpu takes auto, off or a CPU number"),
    ]:
        refused = pos("store", "serve", "--data-dir", str(tmp_path), "--port", "0", "--no-mdns", *extra, timeout=30)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"pos: {said}")
        assert "Traceback" not in refused.stderr


def test_a_database_that_is_not_ours_is_refused_and_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "accounts.db"
    import sqlite3

    with sqlite3.connect(foreign) as conn:
        conn.execute("create table ledger (id integer primary key, amount integer)")
        conn.execute("insert into ledger (amount) values (42)")
    before = foreign.read_bytes()
    result = pos("store", "init", "--db", f"sqlite:///{foreign}")
    assert result.returncode == 1
    assert "not a store database" in result.stderr
    assert "Traceback" not in result.stderr
    assert foreign.read_bytes() == before


def test_commands_on_a_missing_store_say_how_to_make_one(tmp_path: Path) -> None:
    result = pos("store", "token", "--data-dir", str(tmp_path / "nowhere"), "--kind", "register", "--name", "x")
    assert result.returncode == 1
    assert "pos store init" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_init_twice_is_harmless_and_keeps_the_store(tmp_path: Path) -> None:
    first = pos("store", "init", "--data-dir", str(tmp_path), "--demo")
    second = pos("store", "init", "--data-dir", str(tmp_path), "--demo")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout  # same store id, nothing loaded twice


def test_headless_demo_runs_server_lane_and_feed_then_stops(tmp_path: Path) -> None:
    with socket.socket() as sock:  # the demo's default port may be taken on a busy machine; it copes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = pos("demo", "--headless", "--data-dir", str(tmp_path), "--sales", "2", "--port", str(port), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 simulated sales acknowledged; the feed showed 2." in result.stdout
    assert result.stdout.count("sale.completed") == 2
    assert "[demo] Stopped." in result.stdout


def test_demo_without_a_display_says_so_in_one_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([*POS, "demo", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                            timeout=60, env=env, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("No display found")
    assert "Xvfb" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing was started or created


def test_new_epoch_gives_the_feed_a_new_epoch(tmp_path: Path) -> None:
    assert pos("store", "init", "--data-dir", str(tmp_path)).returncode == 0
    before = _epoch(tmp_path / "store.db")
    result = pos("store", "new-epoch", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    after = _epoch(tmp_path / "store.db")
    assert after != before
    assert after in result.stdout


def _epoch(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        epoch: str = conn.execute("select epoch from feed_state").fetchone()[0]
    return epoch


def test_tokens_come_from_a_file_or_the_environment_not_the_command_line(served: Served, tmp_path: Path) -> None:
    token_file = tmp_path / "storefront.token"
    token_file.write_text(served.storefront_token + "\n")
    feed = pos("feed", "--server", served.url, "--token-file", str(token_file), "--json", "--count", "1", timeout=30)
    assert feed.returncode == 0, feed.stderr
    assert json.loads(feed.stdout.splitlines()[0])["seq"] == 1
    env = {**ENV, "POS_TOKEN": served.register_token}
    sim = subprocess.run([*POS, "sim", "lane", "--server", served.url, "--sales", "1"],
                         capture_output=True, text=True, timeout=60, env=env, check=False)  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    assert served.register_token not in " ".join(sim.args)
    missing = pos("feed", "--server", served.url, "--token-file", str(tmp_path / "nope"), "--count", "1")
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
    assert str(tmp_path / "nope") in missing.stderr


@pytest.mark.parametrize(
    ("db", "said"),
    [
        ("nonsense", "'nonsense' is not a database URL"),
        ("foo://host/db", "knows no database 'foo'"),
        ("mysql://user:secret@host/db", "not installed"),
        ("sqlite:////no/such/dir/store.db", "directory does not exist"),
    ],
)
def test_a_bad_database_url_is_one_sentence(tmp_path: Path, db: str, said: str) -> None:
    result = pos("store", "init", "--data-dir", str(tmp_path), "--db", db, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert said in result.stderr
    assert "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_data_dir_that_cannot_be_made_is_one_sentence() -> None:
    result = pos("store", "init", "--data-dir", "/proc/forbidden", timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pos: Cannot create the data dir /proc/forbidden")
    assert len(result.stderr.strip().splitlines()) == 1


def test_receipts_shows_what_the_printer_printed(tmp_path: Path) -> None:
    from peripherals.escpos_codec import RasterImage, ReceiptFormat, drawer_kick, encode_receipt
    from pos_core.receipt import ReceiptRow

    printed = tmp_path / "receipts.escpos"
    first = encode_receipt([ReceiptRow("First customer")])
    second = encode_receipt(
        [ReceiptRow("Corner Shop", "center", bold=True), ReceiptRow("POS-SALE:abc", "center", qr=True)],
        kick=drawer_kick(2),
    )
    logo = RasterImage.from_rows([[True] * 384] * 96)
    third = encode_receipt(
        [ReceiptRow("Thank you", "center"), ReceiptRow("S1A2B3C4", "center", barcode="CODE128")],
        ReceiptFormat(logo=logo),
    )
    printed.write_bytes(first + second + third)
    result = pos("receipts", "--file", str(printed), "--last", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "First customer" not in result.stdout  # only the latest two
    assert lines[0] == "Corner Shop".center(42).rstrip()
    assert lines[1] == "[QR code: POS-SALE:abc]".center(42).rstrip()
    assert "cut, drawer kick pin 2" in lines[2]
    assert lines[3:6] == [  # the logo and the barcode are said, not dumped as bytes
        "[image 384 x 96 dots]".center(42).rstrip(),
        "Thank you".center(42).rstrip(),
        "[barcode CODE128: S1A2B3C4]".center(42).rstrip(),
    ]
    assert lines[6] == f"{'=' * 10} cut {'=' * 10}"
    missing = pos("receipts", "--file", str(tmp_path / "none.escpos"))
    assert missing.returncode == 1
    assert "No receipts at" in missing.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_process_group_stops_the_server_and_its_writer_cleanly(tmp_path: Path, sig: int) -> None:
    """Ctrl-C in a terminal, and a service manager's stop, signal the whole process group: the
    writer process must leave the stopping to the server, which lets it commit what it holds,
    and neither prints a traceback."""
    data = tmp_path / "store"
    data.mkdir()
    assert pos("store", "init", "--data-dir", str(data), "--demo").returncode == 0
    token = pos("store", "token", "--data-dir", str(data), "--kind", "register", "--name", "Till 1").stdout.strip()
    proc = subprocess.Popen(
        [*POS, "store", "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0", "--no-mdns"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        found = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", proc.stdout.readline())
        assert found
        sim = pos("sim", "lane", "--server", found.group(1), "--token", token, "--sales", "3", "--seed", "2")
        assert "3 of 3 sales acknowledged" in sim.stdout, sim.stderr
        children = server_processes(proc.pid)[1:]
        assert children, "the server writes from a process of its own by default"
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Store server stopped." in out
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker leaves when it sees the server gone
    while [pid for pid in children if _running(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _running(pid)], "a process of the server outlived it"


def _running(pid: int) -> bool:
    try:
        state = proc_stat(pid)[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing
