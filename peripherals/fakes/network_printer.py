"""A network receipt printer on 127.0.0.1 that records every byte it receives.

It listens on port 0 (the OS picks), serves each connection from one selector thread, and can:

* answer ESC/POS real-time status requests (``DLE EOT n``) from a table you set;
* go ``mute``: accept connections but never read nor answer, with a tiny receive buffer so a
  sender blocks and times out, as a jammed printer does;
* ``stop()`` and ``start()`` on the same port, as a printer unplugged and plugged back.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading

from peripherals.fakes.loopback import LoopbackDevice

log = logging.getLogger(__name__)

_DLE_EOT = b"\x10\x04"
_MUTE_RCVBUF = 1024


class FakeNetworkPrinter(LoopbackDevice):
    """Records bytes; ``received()`` and ``wait_for_bytes()`` let tests assert on them."""

    thread_name = "fake-printer"

    def __init__(self, *, mute: bool = False, status: dict[int, int] | None = None, port: int = 0) -> None:
        self.mute = mute
        self.status: dict[int, int] = dict(status or {})
        """``DLE EOT n`` -> the status byte to answer; a missing ``n`` gets no answer."""
        self._data = bytearray()
        self._jobs = 0
        self._sizes: dict[socket.socket, int] = {}
        self._cond = threading.Condition()
        super().__init__(port)
        self.start()

    def _tune(self, listener: socket.socket) -> None:
        if self.mute:  # accepted sockets inherit it; the sender's buffers fill up quickly
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _MUTE_RCVBUF)

    # -- what tests look at --------------------------------------------------------------------
    def received(self) -> bytes:
        with self._cond:
            return bytes(self._data)

    @property
    def jobs(self) -> int:
        """Connections that sent something and closed: one per print job."""
        with self._cond:
            return self._jobs

    def wait_for_bytes(self, count: int, timeout: float = 5.0) -> bytes:
        """Everything received, once at least ``count`` bytes have arrived.

        Raises:
            TimeoutError: fewer arrived within ``timeout``.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._data) >= count, timeout):
                raise TimeoutError(f"fake printer got {len(self._data)} of {count} bytes")
            return bytes(self._data)

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> bytes:
        """Everything received, once ``count`` jobs (closed connections) have completed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._jobs >= count, timeout):
                raise TimeoutError(f"fake printer completed {self._jobs} of {count} jobs")
            return bytes(self._data)

    # -- the selector thread -------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._listener is not None
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        conns: dict[socket.socket, bytearray] = {}
        try:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.data == "wake":
                        self._wake_r.recv(64)
                    elif key.data == "accept":
                        self._accept(sel, conns)
                    else:
                        self._read(sel, conns, key.fileobj)  # type: ignore[arg-type]
        finally:
            for conn in conns:
                conn.close()
            self._sizes.clear()
            sel.close()
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def _accept(self, sel: selectors.BaseSelector, conns: dict[socket.socket, bytearray]) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conns[conn] = bytearray()
        if not self.mute:
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ, "conn")

    def _read(self, sel: selectors.BaseSelector, conns: dict[socket.socket, bytearray], conn: socket.socket) -> None:
        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            sel.unregister(conn)
            conn.close()
            conns.pop(conn)
            got_data = self._sizes.pop(conn, 0) > 0
            with self._cond:
                self._jobs += int(got_data)
                self._cond.notify_all()
            return
        conns[conn] += chunk
        self._sizes[conn] = self._sizes.get(conn, 0) + len(chunk)
        with self._cond:
            self._data += chunk
            self._cond.notify_all()
        self._answer_status(conn, conns[conn])

    def _answer_status(self, conn: socket.socket, seen: bytearray) -> None:
        """Answer each complete ``DLE EOT n`` once; the buffer keeps only an unfinished tail."""
        while True:
            i = seen.find(_DLE_EOT)
            if i < 0 or i + 2 >= len(seen):
                keep = seen[-2:] if i < 0 else seen[i:]
                seen[:] = keep
                return
            n = seen[i + 2]
            del seen[: i + 3]
            if n in self.status:
                try:
                    conn.sendall(bytes([self.status[n]]))
                except OSError:
                    log.debug("fake printer: status reply lost")
