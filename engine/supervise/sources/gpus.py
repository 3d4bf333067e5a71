"""NVIDIA GPUs as metrics: utilisation, memory and temperature per device, read through NVML.

`gpu_metrics(readings, tree)` is pure: the readings of every device (from any reader)
and the supervised tree's pids in, the metric names of `engine.vocabulary.METRICS` out:
per device (`gpu0_util_percent` ... for the first `GPU_DEVICES` devices), across
devices (the busiest, fullest and hottest one, so that "every GPU idle" is
`gpu_util_percent < 5`), and the device memory the tree's own processes hold
(`proc_gpu_mem_gb`). `Nvml` reads the devices through NVIDIA's bindings (the
`nvidia-ml-py` package, module `pynvml`), imported the first time it is read and only
where an NVIDIA driver is installed (`nvidia_driver_present`; the import costs about 5 MB):
without the package, without a driver or without a GPU it reads nothing, once, and never
raises.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.vocabulary import GPU_DEVICES

GB = 1e9


@dataclass(frozen=True)
class GpuReading:
    """One device at one moment. A number NVML could not give is None."""

    index: int
    util_percent: float | None
    mem_used: float | None  # bytes, every process on the device
    mem_total: float | None  # bytes
    temp_c: float | None
    processes: tuple[tuple[int, float], ...] | None = None  # (pid, bytes); None: not listed


GpuReader = Callable[[], Sequence[GpuReading]]
T = TypeVar("T")


def gpu_metrics(readings: Sequence[GpuReading], tree: Collection[int] = ()) -> dict[str, float]:
    """The metrics of `readings`; `tree` is the pids of the supervised process tree."""
    if not readings:
        return {}
    values: dict[str, float] = {"gpu_count": float(len(readings))}
    for r in readings:
        if r.index < GPU_DEVICES:
            values.update(_device(r))
    _widest(values, "gpu_util_percent", [r.util_percent for r in readings])
    _widest(values, "gpu_mem_used_gb", [_gb(r.mem_used) for r in readings])
    _widest(values, "gpu_mem_used_percent", [_percent(r) for r in readings])
    _widest(values, "gpu_temp_c", [r.temp_c for r in readings])
    held = _held(readings, tree)
    if held is not None:
        values["proc_gpu_mem_gb"] = held / GB
    return values


def _device(r: GpuReading) -> dict[str, float]:
    named = {
        "util_percent": r.util_percent,
        "mem_used_gb": _gb(r.mem_used),
        "mem_used_percent": _percent(r),
        "temp_c": r.temp_c,
    }
    return {f"gpu{r.index}_{name}": value for name, value in named.items() if value is not None}


def _widest(values: dict[str, float], name: str, numbers: list[float | None]) -> None:
    known = [n for n in numbers if n is not None]
    if known:
        values[name] = max(known)


def _gb(used: float | None) -> float | None:
    return None if used is None else used / GB


def _percent(r: GpuReading) -> float | None:
    if r.mem_used is None or not r.mem_total:
        return None
    return 100.0 * r.mem_used / r.mem_total


def _held(readings: Sequence[GpuReading], tree: Collection[int]) -> float | None:
    """Bytes the tree's processes hold on all devices (0 with no tree: no training runs);
    None when no device lists its processes."""
    listed = [r.processes for r in readings if r.processes is not None]
    if not listed:
        return None
    return sum(used for procs in listed for pid, used in procs if pid in tree)


DRIVER_FILES = ("/proc/driver/nvidia", "/dev/nvidiactl", "/usr/lib/wsl/lib/libnvidia-ml.so.1")
"""Any of them means an NVIDIA driver on Linux (the last one under WSL2)."""


def nvidia_driver_present() -> bool:
    """Whether NVML can be there: on Linux one of `DRIVER_FILES` exists; Windows is always
    tried; macOS has had no NVIDIA driver since 10.13."""
    if sys.platform.startswith("linux"):
        return any(os.path.exists(path) for path in DRIVER_FILES)
    return sys.platform == "win32"


class Nvml:
    """A `GpuReader` over NVML. The first read loads `pynvml` and initialises NVML; if that
    fails (no driver, no package, no device) every read returns nothing. A device whose
    reading fails is left out of that read."""

    def __init__(
        self, module: str = "pynvml", driver_present: Callable[[], bool] = nvidia_driver_present
    ) -> None:
        self.module = module
        self.driver_present = driver_present
        self._nvml: Any = None
        self._handles: list[Any] | None = None  # None: not tried yet; []: nothing to read
        self.why_not = ""

    def __call__(self) -> list[GpuReading]:
        if self._handles is None:
            self._handles = self._open()
        out = []
        for index, handle in enumerate(self._handles):
            try:
                out.append(self._read(index, handle))
            except Exception:  # a device that fell off the bus, a driver reset
                continue
        return out

    def _open(self) -> list[Any]:
        if not self.driver_present():
            self.why_not = "no NVIDIA driver"
            return []
        try:
            nvml = importlib.import_module(self.module)
            nvml.nvmlInit()
            handles = [
                nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())
            ]
        except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, ...
            self.why_not = f"{type(exc).__name__}: {exc}"
            return []
        self._nvml = nvml
        return handles

    def _read(self, index: int, handle: Any) -> GpuReading:
        nvml = self._nvml
        util = _maybe(lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
        memory = _maybe(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        temp = _maybe(
            lambda: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        )
        procs = _maybe(lambda: _processes(nvml.nvmlDeviceGetComputeRunningProcesses(handle)))
        return GpuReading(
            index=index,
            util_percent=util,
            mem_used=None if memory is None else float(memory.used),
            mem_total=None if memory is None else float(memory.total),
            temp_c=temp,
            processes=procs,
        )


def _processes(infos: Sequence[Any]) -> tuple[tuple[int, float], ...]:
    """(pid, bytes) of NVML's process infos; a process whose memory NVML does not know
    (`usedGpuMemory` None, as under Windows' WDDM) counts 0 bytes."""
    return tuple((int(p.pid), float(p.usedGpuMemory or 0)) for p in infos)


def _maybe(read: Callable[[], T]) -> T | None:
    """`read()`, or None when NVML cannot give it (not supported on this device, ...)."""
    try:
        return read()
    except Exception:  # NVMLError_NotSupported and its siblings
        return None
