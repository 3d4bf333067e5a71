"""Debian's Prometheus and Alertmanager started by a test: free loopback ports, a temporary
config and storage directory, ready before use, stopped (and waited for) after.

A missing binary skips the test with the reason, unless the environment variable CI is set:
there the suite must not pass without them, so the test fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ALERTMANAGER = "prometheus-alertmanager"
PROMETHEUS = "prometheus"
START_S = 20.0
PACKAGES = {"promtool": PROMETHEUS, "amtool": ALERTMANAGER}  # the Debian package of each binary

# What the fleet test and docs/fleet.md run: Alertmanager groups by rule and category, waits
# 1 s (here) before the first notification of a group, and needs no receiver to hold alerts.
ALERTMANAGER_CONFIG = """\
route:
  receiver: log-only
  group_by: [rule, category]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 4h
receivers:
  - name: log-only
"""


def binary(name: str) -> str:
    """The path of `name`; skips the test without it (fails it when CI is set)."""
    found = shutil.which(name)
    if not found:
        package = PACKAGES.get(name, name)
        why = f"{name} is not installed (Debian package {package}; bin/setup-system installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI is set, so this test must run")
        pytest.skip(why)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return json.loads(reply.read())


def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.2) -> Any:
    """The first truthy value of `predicate()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, ValueError):
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _ready(daemon: Daemon) -> bool:
    if daemon.process.poll() is not None:
        raise RuntimeError(f"{daemon.name} exited early:\n{daemon.output()}")
    try:
        with urllib.request.urlopen(f"{daemon.url}/-/ready", timeout=1.0) as reply:
            return bool(reply.status == 200)
    except urllib.error.HTTPError:
        return False  # 503 while it starts


@contextmanager
def daemon(name: str, args: Callable[[int], Sequence[str]], workdir: Path) -> Iterator[Daemon]:
    """`name` started with `args(port)` on a free port, ready; stopped at the end."""
    exe = binary(name)
    workdir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # a free port can be taken before the daemon binds it
        port = free_port()
        log = workdir / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([exe, *args(port)], stdout=out, stderr=subprocess.STDOUT)
        started = Daemon(name, process, port, log)
        try:
            if wait_for(lambda: _ready(started), START_S):  # noqa: B023 (used at once)
                break
        except RuntimeError:
            if "address already in use" not in started.output():
                raise
        _stop(process)
    else:
        raise RuntimeError(f"{name} did not become ready:\n{started.output()}")
    try:
        yield started
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def alertmanager(workdir: Path, config: str = ALERTMANAGER_CONFIG) -> Iterator[Daemon]:
    """Alertmanager on a free loopback port, clustering off, its storage in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config)

    def args(port: int) -> list[str]:
        return [
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    with daemon(ALERTMANAGER, args, workdir) as started:
        yield started


@contextmanager
def prometheus(workdir: Path, config: str) -> Iterator[Daemon]:
    """Prometheus on a free loopback port with `config`, its TSDB in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(config)

    def args(port: int) -> list[str]:
        return [
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]

    with daemon(PROMETHEUS, args, workdir) as started:
        yield started


def active_alerts(am: Daemon) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = get_json(f"{am.url}/api/v2/alerts")
    return alerts
