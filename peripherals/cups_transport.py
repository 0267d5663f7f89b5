"""A printer behind a CUPS queue: each job goes through ``lp -d QUEUE -o raw`` unchanged.

The ``raw`` option tells CUPS not to filter the bytes, so the ESC/POS stream arrives exactly as
encoded. CUPS queues are one-way: status questions get no answer and the status stays unknown.
python-escpos 3.1's ``CupsPrinter`` needs pycups (a C extension) and its ``LP`` printer hides
``lp``'s error text; a plain ``lp`` process gives both a clear failure and no extra dependency.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

from peripherals.errors import DeviceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CupsTransport:
    """Jobs to the CUPS queue ``queue`` via the ``lp`` command (found on PATH)."""

    queue: str
    device: str = "receipt printer"
    lp: str = "lp"
    timeout: float = 30.0
    job_name: str = "unified-pos"

    def describe(self) -> str:
        return f"on CUPS queue {self.queue}"

    def send(self, data: bytes) -> None:
        command = [self.lp, "-d", self.queue, "-t", self.job_name, "-o", "raw"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed program, the queue is one argument, no shell
                command, input=data, capture_output=True, timeout=self.timeout, check=False
            )
        except FileNotFoundError as exc:
            raise DeviceUnavailable(
                f"The {self.device} is a CUPS queue, but CUPS is not installed on this computer ({self.lp!r} "
                "not found); install the CUPS client (Debian/Ubuntu: apt install cups-client) or use another address."
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} did not take the job within {self.timeout:g} seconds; "
                "check the CUPS service is running."
            ) from exc
        except OSError as exc:
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} cannot be used ({exc.strerror or exc}); "
                f"check {self.lp!r} can be run by this user."
            ) from exc
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            said = f" (lp said: {reason[-1]})" if reason else ""
            log.info("%s %s: lp failed with %d%s", self.device, self.describe(), done.returncode, said)
            raise DeviceUnavailable(
                f"The {self.device} {self.describe()} refused the job{said}; "
                "check the queue name with `lpstat -p` and that the queue is enabled."
            )
        log.debug("queued %d bytes on %s %s", len(data), self.device, self.describe())

    def exchange(self, data: bytes, reply_len: int, timeout: float) -> bytes:
        return b""  # CUPS is one-way; a status question must not print, so nothing is sent
