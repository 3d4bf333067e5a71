"""The Sampler: host metrics, and the metrics of a real process tree, read with psutil."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from engine.supervise.sources.metrics import Sampler
from engine.vocabulary import METRICS

HOST = {
    "cpu_percent",
    "mem_percent",
    "mem_available_gb",
    "swap_percent",
    "disk_free_gb",
    "disk_percent",
    "load1",
}
TREE = {"proc_cpu_percent", "proc_rss_gb", "proc_count", "proc_open_files"}

PARENT = """\
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", {child!r}]) for _ in range(2)]
print("ready", flush=True)
time.sleep(120)
"""
SLEEPER = "import time; time.sleep(120)"
SPINNER = "import time\nend = time.time() + 120\nwhile time.time() < end: pass"


def start_tree(child: str) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """A python that starts 2 children running `child`; returns it once all 3 are up."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(child=child)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    assert parent.stdout.readline() == b"ready\n"
    kids = psutil.Process(parent.pid).children()
    assert len(kids) == 2
    return parent, kids


def end_tree(parent: subprocess.Popen[bytes], kids: list[psutil.Process]) -> None:
    for kid in kids:
        try:
            kid.kill()
        except psutil.NoSuchProcess:
            pass
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while not all(gone_or_zombie(kid) for kid in kids) and time.monotonic() < deadline:
        time.sleep(0.01)


def gone_or_zombie(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def sleepers() -> Iterator[tuple[subprocess.Popen[bytes], list[psutil.Process]]]:
    parent, kids = start_tree(SLEEPER)
    yield parent, kids
    end_tree(parent, kids)


def check_host(values: dict[str, float]) -> None:
    assert set(METRICS) >= HOST
    for name in HOST:
        assert isinstance(values[name], float), name
    for name in ("cpu_percent", "mem_percent", "swap_percent", "disk_percent"):
        assert 0.0 <= values[name] <= 100.0, name
    total_gb = psutil.virtual_memory().total / 1e9
    assert 0.0 < values["mem_available_gb"] <= total_gb
    assert 0.0 <= values["disk_free_gb"] < 1e6
    assert 0.0 <= values["load1"] < 10 * (psutil.cpu_count() or 1) + 10


def test_host_metrics() -> None:
    sampler = Sampler()
    for _ in range(3):
        values = sampler.sample()
        assert set(values) == HOST
        check_host(values)


def test_disk_metrics_follow_disk_path(tmp_path: Path) -> None:
    values = Sampler(disk_path=str(tmp_path)).sample()
    disk = psutil.disk_usage(str(tmp_path))
    assert values["disk_percent"] == pytest.approx(disk.percent, abs=1.0)
    assert values["disk_free_gb"] == pytest.approx(disk.free / 1e9, abs=1.0)


def test_missing_disk_path_gives_no_disk_metrics_and_no_error() -> None:
    values = Sampler(disk_path="/no/such/folder/here").sample()
    assert set(values) == HOST - {"disk_free_gb", "disk_percent"}


def test_tree_metrics_of_a_real_process_tree(
    sleepers: tuple[subprocess.Popen[bytes], list[psutil.Process]],
) -> None:
    parent, kids = sleepers
    sampler = Sampler(root_pid=parent.pid)
    for _ in range(3):
        values = sampler.sample()
        assert set(values) == HOST | TREE
        assert set(values) <= set(METRICS)
        check_host(values)
        assert values["proc_count"] == 3.0
        assert 0.0 <= values["proc_cpu_percent"] < 100.0 * 3
        rss = sum(p.memory_info().rss for p in [psutil.Process(parent.pid), *kids]) / 1e9
        assert 0.003 < values["proc_rss_gb"] < 2.0
        assert values["proc_rss_gb"] == pytest.approx(rss, rel=0.5)
        assert values["proc_open_files"] >= 3 * 3  # stdin, stdout, stderr each at least
        assert values["proc_open_files"] < 1000
        time.sleep(0.05)


def test_tree_cpu_of_busy_children() -> None:
    parent, kids = start_tree(SPINNER)
    try:
        sampler = Sampler(root_pid=parent.pid)
        first = sampler.sample()
        assert first["proc_count"] == 3.0
        time.sleep(0.5)
        values = sampler.sample()
        assert values["proc_count"] == 3.0
        # two spinning children: well above idle, at most two cores (plus the sleeping parent)
        assert 5.0 < values["proc_cpu_percent"] <= 220.0
    finally:
        end_tree(parent, kids)


def test_vanished_pid_gives_no_tree_metrics() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    values = Sampler(root_pid=gone.pid).sample()
    assert set(values) == HOST


def test_tree_that_vanishes_between_samples() -> None:
    parent, kids = start_tree(SLEEPER)
    sampler = Sampler(root_pid=parent.pid)
    try:
        assert sampler.sample()["proc_count"] == 3.0
    finally:
        end_tree(parent, kids)
    assert set(sampler.sample()) == HOST


def test_a_reaped_child_leaves_the_count() -> None:
    script = (
        "import subprocess, sys, time\n"
        f"kids = [subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]) for _ in range(2)]\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "kids[0].kill(); kids[0].wait()\n"
        "print('reaped', flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert parent.stdin is not None and parent.stdout is not None
    assert parent.stdout.readline() == b"ready\n"
    kids = psutil.Process(parent.pid).children()
    try:
        sampler = Sampler(root_pid=parent.pid)
        assert sampler.sample()["proc_count"] == 3.0
        parent.stdin.write(b"go\n")
        parent.stdin.flush()
        assert parent.stdout.readline() == b"reaped\n"
        assert sampler.sample()["proc_count"] == 2.0
    finally:
        end_tree(parent, kids)


def test_a_dead_unreaped_child_leaves_the_count(
    sleepers: tuple[subprocess.Popen[bytes], list[psutil.Process]],
) -> None:
    parent, kids = sleepers
    sampler = Sampler(root_pid=parent.pid)
    assert sampler.sample()["proc_count"] == 3.0
    kids[0].kill()
    deadline = time.monotonic() + 10
    while kids[0].status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kids[0].status() == psutil.STATUS_ZOMBIE
    assert sampler.sample()["proc_count"] == 2.0


def test_cost_of_one_sample(
    sleepers: tuple[subprocess.Popen[bytes], list[psutil.Process]],
) -> None:
    parent, _ = sleepers
    for label, sampler in [
        ("host only", Sampler()),
        ("host + 3-process tree", Sampler(root_pid=parent.pid)),
    ]:
        sampler.sample()
        times = []
        for _ in range(50):
            start = time.perf_counter()
            sampler.sample()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(  # noqa: T201 - the measurement is the point; shown with -s
            f"\nSampler.sample() {label}: median {median * 1e3:.3f} ms "
            f"(min {min(times) * 1e3:.3f}, max {max(times) * 1e3:.3f}) over 50 calls"
        )


def test_macos_memory_pressure_is_read_from_the_kernel_level() -> None:
    from engine.supervise.sources.metrics import macos_memory_pressure

    assert macos_memory_pressure(lambda: "73\n") == 27.0
    assert macos_memory_pressure(lambda: "garbage") is None
    assert macos_memory_pressure(lambda: "140") == 0.0  # clamped
    if sys.platform != "darwin":
        assert macos_memory_pressure() is None
