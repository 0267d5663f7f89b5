"""A print queue on disk: jobs survive a printer that is down and a register that restarts.

Each job is one file ``<sequence>.job`` holding the exact ESC/POS bytes, written to a temporary
name, flushed to disk and renamed, so a power cut leaves either the whole job or none of it.
``drain()`` sends pending jobs oldest first and deletes each only after the printer took it; it
stops at the first failure so later jobs never overtake an earlier one. A crash between sending
and deleting prints that job twice on the next drain: a duplicate receipt is better than a lost
one.

Use it from the printer's ``DeviceWorker`` thread (one writer); the lock only guards against a
second thread calling by mistake.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peripherals.errors import DeviceUnavailable, PeripheralError
from peripherals.escpos_codec import DEFAULT_FORMAT, ReceiptFormat, encode_receipt
from pos_core.receipt import ReceiptRow

log = logging.getLogger(__name__)

_JOB_NAME = re.compile(r"(\d{12})\.job")


@dataclass(frozen=True, slots=True)
class QueuedJob:
    sequence: int
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class DrainResult:
    """What one ``drain()`` achieved; ``error`` is the sentence that stopped it, if any."""

    printed: int
    remaining: int
    error: PeripheralError | None = None


class PrintQueue:
    """Jobs kept in ``directory`` until ``send`` (e.g. ``ReceiptPrinter.send_raw``) accepts them."""

    def __init__(self, directory: Path, send: Callable[[bytes], None]) -> None:
        self.directory = directory
        self._send = send
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeviceUnavailable(
                f"The print queue folder {directory} cannot be created ({exc.strerror or exc}); "
                "check the disk and the folder's permissions."
            ) from exc
        for stale in directory.glob("*.tmp"):  # a job half-written when the power went
            stale.unlink(missing_ok=True)

    def pending(self) -> list[QueuedJob]:
        """Jobs not yet printed, oldest first."""
        jobs = []
        for path in self.directory.iterdir():
            match = _JOB_NAME.fullmatch(path.name)
            if match:
                jobs.append(QueuedJob(int(match.group(1)), path))
        return sorted(jobs, key=lambda job: job.sequence)

    def enqueue(self, data: bytes) -> QueuedJob:
        """Store ``data`` durably as the newest job; returns it once it is safely on disk.

        Raises:
            DeviceUnavailable: the job could not be written (disk full, permissions).
        """
        with self._lock:
            jobs = self.pending()
            sequence = jobs[-1].sequence + 1 if jobs else 1
            path = self.directory / f"{sequence:012d}.job"
            tmp = path.with_suffix(".tmp")
            try:
                with tmp.open("wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                tmp.replace(path)
                _fsync_dir(self.directory)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise DeviceUnavailable(
                    f"The receipt could not be queued in {self.directory} ({exc.strerror or exc}); "
                    "check the disk has space."
                ) from exc
            log.info("queued print job %d (%d bytes)", sequence, len(data))
            return QueuedJob(sequence, path)

    def enqueue_receipt(self, rows: Sequence[ReceiptRow], fmt: ReceiptFormat = DEFAULT_FORMAT) -> QueuedJob:
        """Encode ``rows`` as a whole receipt job and queue it."""
        return self.enqueue(encode_receipt(rows, fmt))

    def drain(self, instead: Mapping[int, bytes] | None = None) -> DrainResult:
        """Send pending jobs in order until one fails or none is left. Never raises a device error.

        Args:
            instead: bytes to send in place of a job's stored bytes, by sequence, in this drain
                only. A receipt printed at once carries its drawer kick in the same job; the copy
                kept on disk has none, so a receipt printed later never opens the drawer.
        """
        printed = 0
        with self._lock:
            jobs = self.pending()
            for i, job in enumerate(jobs):
                try:
                    self._send((instead or {}).get(job.sequence) or job.read())
                except PeripheralError as exc:
                    log.warning("print job %d waits: %s", job.sequence, exc)
                    return DrainResult(printed, len(jobs) - i, exc)
                job.path.unlink(missing_ok=True)
                printed += 1
                log.info("printed queued job %d", job.sequence)
        return DrainResult(printed, 0)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open a directory and needs no more."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
