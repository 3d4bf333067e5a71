"""Reachability of the hosts a node needs: TCP connects, all at once, each bounded by a timeout.

Name resolution ignores socket timeouts, so every host is tried in a daemon
thread and the caller waits for them until one shared deadline: an offline
machine or a hanging resolver costs `timeout` seconds, never more, and leaves
nothing that delays the interpreter's exit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence

from engine.doctor.facts import Host, HostResult

Connect = Callable[[tuple[str, int], float], socket.socket]
Clock = Callable[[], float]


class HostCheck:
    """Connects started by `start()`; `results()` waits for them until the deadline."""

    def __init__(
        self,
        hosts: Sequence[Host],
        timeout: float,
        connect: Connect = socket.create_connection,
        clock: Clock = time.monotonic,
    ) -> None:
        self.hosts = list(hosts)
        self.timeout = timeout
        self._connect = connect
        self._clock = clock
        self._done: dict[Host, HostResult] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def start(self) -> HostCheck:
        self._started = self._clock()
        for host in self.hosts:
            t = threading.Thread(target=self._try, args=(host,), daemon=True, name=f"doctor {host}")
            t.start()
            self._threads.append(t)
        return self

    def _try(self, host: Host) -> None:
        start = self._clock()
        try:
            self._connect((host.host, host.port), self.timeout).close()
            result = HostResult(host, True, self._clock() - start)
        except OSError as exc:
            result = HostResult(host, False, self._clock() - start, _reason(exc))
        with self._lock:
            self._done[host] = result

    def results(self) -> list[HostResult]:
        """One result per host, in the order given; those still pending have timed out."""
        deadline = self._started + self.timeout
        for t in self._threads:
            t.join(max(0.0, deadline - self._clock()))
        with self._lock:
            return [
                self._done.get(h) or HostResult(h, False, self.timeout, _timed_out(self.timeout))
                for h in self.hosts
            ]


def _timed_out(timeout: float) -> str:
    return f"no answer within {timeout:g}s"


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved: {exc.strerror or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__
