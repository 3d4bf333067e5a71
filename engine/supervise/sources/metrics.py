"""The sampler: the fixed metric vocabulary (engine.vocabulary.METRICS) read with psutil.

`Sampler.sample()` returns host numbers (CPU, memory, swap, load, the disk of
the working directory), the NVIDIA GPUs' numbers where NVML sees any
(`engine.supervise.sources.gpus`) and, when a root pid is set, the numbers of that
process's whole tree. Training numbers (activity, restarts, uptime) and the memory
torch allocates come from the runner and the probe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from engine.supervise.sources.gpus import GpuReader, Nvml, gpu_metrics

GB = 1e9


@dataclass
class Sampler:
    disk_path: str = "."
    root_pid: int | None = None
    gpus: GpuReader = field(default_factory=Nvml)  # read at every sample; a test passes its own
    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        psutil.cpu_percent(None)  # the first reading starts the interval

    def sample(self) -> dict[str, float]:
        values = self.host()
        tree: set[int] = set()
        if self.root_pid is not None:
            values.update(self.tree(self.root_pid))
            tree = set(self._procs)
        values.update(gpu_metrics(self.gpus(), tree))
        return values

    def host(self) -> dict[str, float]:
        mem = psutil.virtual_memory()
        swap = psutil.swap_memory()
        values = {
            "cpu_percent": psutil.cpu_percent(None),
            "mem_percent": mem.percent,
            "mem_available_gb": mem.available / GB,
            "swap_percent": swap.percent,
            "load1": os.getloadavg()[0],
        }
        try:
            disk = psutil.disk_usage(self.disk_path)
            values.update(disk_free_gb=disk.free / GB, disk_percent=disk.percent)
        except OSError:
            pass
        pressure = macos_memory_pressure()
        if pressure is not None:
            values["mem_pressure_percent"] = pressure
        return values

    def tree(self, pid: int) -> dict[str, float]:
        """CPU, memory, process and file counts of `pid` and all its descendants."""
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return {}
        cpu = rss = 0.0
        files = 0
        live: dict[int, psutil.Process] = {}
        for proc in procs:
            proc = self._procs.get(proc.pid, proc)  # keep the object: cpu_percent needs history
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue  # dead, only not yet reaped
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                    files += _open_files(proc)
            except psutil.Error:
                continue
            live[proc.pid] = proc
        self._procs = live
        return {
            "proc_cpu_percent": cpu,
            "proc_rss_gb": rss / GB,
            "proc_count": float(len(live)),
            "proc_open_files": float(files),
        }


def _open_files(proc: psutil.Process) -> int:
    try:
        return proc.num_fds()
    except (AttributeError, psutil.Error):  # num_fds is POSIX only
        return 0


def macos_memory_pressure(read: Callable[[], str] | None = None) -> float | None:
    """macOS's memory pressure in percent, from `sysctl kern.memorystatus_level` (the share of
    memory the kernel considers free); None elsewhere or when it cannot be read."""
    if read is None:
        if sys.platform != "darwin":
            return None
        read = _sysctl_level
    try:
        level = float(read().strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return max(0.0, min(100.0, 100.0 - level))


def _sysctl_level() -> str:
    done = subprocess.run(
        ["sysctl", "-n", "kern.memorystatus_level"],
        capture_output=True,
        text=True,
        timeout=2,
        check=True,
    )
    return done.stdout
