"""The supervisor's end of the probe: a Unix datagram socket the child's probe reports to."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]
SYNC = "rlswarm-sync"  # the event of the marker `ProbeListener.sync` sends itself


class ProbeListener:
    """Receives the probe's JSON messages and hands each to `on_message` with its arrival time."""

    def __init__(self, on_message: Callable[[float, Message], None], clock: Callable[[], float]):
        self._dir = tempfile.mkdtemp(prefix="rlswarm-")
        self.path = os.path.join(self._dir, "probe.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._sock.settimeout(5.0)  # `close` wakes it with a datagram; this is a safety net
        self._on_message = on_message
        self._clock = clock
        self._stop = threading.Event()
        self._synced = threading.Condition()
        self._syncs = 0  # markers sent
        self._seen_sync = 0  # markers received
        self._thread = threading.Thread(target=self._run, name="probe-listener", daemon=True)
        self._thread.start()

    def sync(self, timeout: float = 0.5) -> bool:
        """Wait (up to `timeout`) until every message sent before now is handed over: a
        marker sent to the socket comes out after them. True when it came."""
        with self._synced:
            self._syncs += 1
            n = self._syncs
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as marker:
                marker.sendto(json.dumps({"event": SYNC, "n": n}).encode(), self.path)
        except OSError:
            return False
        with self._synced:
            return self._synced.wait_for(lambda: self._seen_sync >= n, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                message = json.loads(data)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("event") == SYNC:
                self._marker(message.get("n"))
            elif isinstance(message, dict) and isinstance(message.get("event"), str):
                self._on_message(self._clock(), message)

    def _marker(self, n: object) -> None:
        """A `sync` marker came out: only one of ours counts (a child may send anything)."""
        with self._synced:
            if isinstance(n, int) and not isinstance(n, bool) and n <= self._syncs:
                self._seen_sync = max(self._seen_sync, n)
                self._synced.notify_all()

    def close(self) -> None:
        """Stop after what is already queued (the wake-up datagram comes after it)."""
        self._stop.set()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", self.path)
        except OSError:
            pass  # the receive timeout ends the wait instead
        self._thread.join(1.0)
        try:
            self._sock.close()
        finally:
            Path(self.path).unlink(missing_ok=True)
            Path(self._dir).rmdir()
