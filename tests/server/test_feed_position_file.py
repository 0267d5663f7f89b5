"""The feed position file: written whole, and by one writer at a time within a process."""

from __future__ import annotations

import threading
from pathlib import Path

from store_server.errors import StoreError
from store_server.feed_position import FeedMark, read_mark, write_mark

WRITERS = 6
WRITES = 40


def test_writes_from_many_threads_never_collide(tmp_path: Path) -> None:
    # A stopping server records its mark while its periodic task's write, cancelled but still
    # running on a thread, may be replacing the same file through the same sibling.
    path = tmp_path / "feed.position"
    failures: list[StoreError] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        start.wait()
        for seq in range(WRITES):
            try:
                write_mark(path, FeedMark("store", "epoch", n * 1000 + seq))
            except StoreError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    mark = read_mark(path)
    assert mark is not None
    assert mark.last_seq % 1000 == WRITES - 1  # some writer's last mark, whole
    assert not path.with_name(path.name + ".tmp").exists()
