"""The part every fake network device shares: a port on 127.0.0.1 that can be unplugged.

A subclass serves connections from one thread in ``_serve`` (select on ``_listener`` and
``_wake_r``, return when ``_stopping``) and may tune the listening socket in ``_tune``.
"""

from __future__ import annotations

import socket
import threading
from typing import Self


class LoopbackDevice:
    """Listens on 127.0.0.1; ``stop()`` unplugs it, ``start()`` plugs it back on the same port."""

    thread_name = "fake-device"

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False

    def _serve(self) -> None:  # pragma: no cover - every subclass serves
        raise NotImplementedError

    def _tune(self, listener: socket.socket) -> None:
        """Adjust the listening socket before it binds (accepted sockets inherit it)."""

    def start(self) -> None:
        """Listen (again) on ``self.port``; the first start picks a free port."""
        if self._thread is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tune(listener)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener, self._stopping = listener, False
        self._thread = threading.Thread(target=self._serve, name=f"{self.thread_name}-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the port and every connection, as pulling the device's cable would."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        self._thread = None

    def close(self) -> None:
        self.stop()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
