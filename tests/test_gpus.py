"""GPU metrics: NVML readings to metric names, the NVML reader, and the Sampler carrying them.

There is no NVIDIA GPU here: the readings come from an injected reader (as macOS memory
pressure comes from an injected `sysctl`), and `Nvml` is driven through a stand-in module
with pynvml's names, written to a temporary folder and imported by name like the real one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.supervise.sources.gpus import GpuReading, Nvml, gpu_metrics
from engine.supervise.sources.metrics import Sampler
from engine.vocabulary import GPU_DEVICES, METRICS

GIB = 1024**3


def reading(index: int, util: float, used_gib: float, temp: float, **kw: object) -> GpuReading:
    return GpuReading(
        index=index,
        util_percent=util,
        mem_used=used_gib * GIB,
        mem_total=80 * GIB,
        temp_c=temp,
        **kw,  # type: ignore[arg-type]
    )


def test_no_gpu_gives_no_metric() -> None:
    assert gpu_metrics([]) == {}
    assert gpu_metrics([], tree={1, 2}) == {}


def test_each_device_has_its_names_and_the_across_names_take_the_worst() -> None:
    values = gpu_metrics([reading(0, 97, 60, 71), reading(1, 3, 75, 83)])
    assert values["gpu_count"] == 2
    assert values["gpu0_util_percent"] == 97
    assert values["gpu1_util_percent"] == 3
    assert values["gpu1_mem_used_gb"] == pytest.approx(75 * GIB / 1e9)
    assert values["gpu1_mem_used_percent"] == pytest.approx(75 / 80 * 100)
    assert values["gpu0_temp_c"] == 71
    # across devices: the busiest, fullest and hottest one
    assert values["gpu_util_percent"] == 97
    assert values["gpu_mem_used_percent"] == pytest.approx(75 / 80 * 100)
    assert values["gpu_temp_c"] == 83
    assert set(values) <= set(METRICS)


def test_every_gpu_idle_reads_as_the_busiest_below_5() -> None:
    values = gpu_metrics([reading(i, 0, 70, 40) for i in range(4)])
    assert values["gpu_util_percent"] == 0


def test_devices_past_the_named_ones_count_only_across_devices() -> None:
    values = gpu_metrics([reading(i, 10 + i, 1, 30) for i in range(GPU_DEVICES + 2)])
    assert values["gpu_count"] == GPU_DEVICES + 2
    assert f"gpu{GPU_DEVICES - 1}_util_percent" in values
    assert f"gpu{GPU_DEVICES}_util_percent" not in values
    assert values["gpu_util_percent"] == 10 + GPU_DEVICES + 1
    assert set(values) <= set(METRICS)


def test_a_number_nvml_cannot_give_is_left_out() -> None:
    r = GpuReading(index=0, util_percent=None, mem_used=None, mem_total=None, temp_c=55)
    values = gpu_metrics([r])
    assert values == {"gpu_count": 1, "gpu0_temp_c": 55, "gpu_temp_c": 55}


def test_the_tree_s_own_device_memory() -> None:
    devices = [
        reading(0, 0, 40, 40, processes=((100, 30 * 1e9), (999, 10 * 1e9))),
        reading(1, 0, 12, 40, processes=((101, 12 * 1e9),)),
    ]
    assert gpu_metrics(devices, tree={100, 101})["proc_gpu_mem_gb"] == pytest.approx(42)
    # the training is gone (or was never started): it holds nothing
    assert gpu_metrics(devices, tree=set())["proc_gpu_mem_gb"] == 0
    # no device lists its processes: unknown, not zero
    assert "proc_gpu_mem_gb" not in gpu_metrics([reading(0, 0, 40, 40)], tree={100})


STANDIN = '''
"""pynvml's names, as much as Nvml uses; one device whose utilisation is not supported."""
from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0
calls = []

class NVMLError(Exception):
    pass

def nvmlInit():
    calls.append("init")

def nvmlDeviceGetCount():
    return 2

def nvmlDeviceGetHandleByIndex(i):
    return f"handle{i}"

def nvmlDeviceGetUtilizationRates(h):
    if h == "handle1":
        raise NVMLError("Not Supported")
    return SimpleNamespace(gpu=88, memory=40)

def nvmlDeviceGetMemoryInfo(h):
    return SimpleNamespace(used=20 * 10**9, total=40 * 10**9, free=20 * 10**9)

def nvmlDeviceGetTemperature(h, sensor):
    calls.append(("temp", h, sensor))
    return 64

def nvmlDeviceGetComputeRunningProcesses(h):
    return [SimpleNamespace(pid=4242, usedGpuMemory=5 * 10**9),
            SimpleNamespace(pid=7, usedGpuMemory=None)]
'''


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[str]:
    name = "standin_pynvml"
    (tmp_path / f"{name}.py").write_text(STANDIN, "utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_nvml_reads_every_device_through_the_bindings(standin: str) -> None:
    nvml = Nvml(module=standin, driver_present=lambda: True)
    readings = nvml()
    assert readings == [
        GpuReading(0, 88.0, 20e9, 40e9, 64.0, ((4242, 5e9), (7, 0.0))),
        GpuReading(1, None, 20e9, 40e9, 64.0, ((4242, 5e9), (7, 0.0))),
    ]
    nvml()
    module = sys.modules[standin]
    assert module.calls.count("init") == 1  # initialised once, on the first read
    assert ("temp", "handle1", module.NVML_TEMPERATURE_GPU) in module.calls
    assert nvml.why_not == ""


def test_without_a_driver_the_bindings_are_not_even_imported(standin: str) -> None:
    nvml = Nvml(module=standin, driver_present=lambda: False)
    assert nvml() == []
    assert nvml.why_not == "no NVIDIA driver"
    assert standin not in sys.modules


def test_without_the_bindings_nothing_is_read_and_nothing_raises() -> None:
    nvml = Nvml(module="no_such_nvml_module", driver_present=lambda: True)
    assert nvml() == []
    assert nvml() == []
    assert nvml.why_not.startswith("ModuleNotFoundError")


def test_the_real_bindings_without_a_driver_read_nothing() -> None:
    pytest.importorskip("pynvml")
    for nvml in (Nvml(), Nvml(driver_present=lambda: True)):  # the check, then NVML's own
        if nvml():
            pytest.skip("an NVIDIA driver and GPU are here: the readings are real")
        assert nvml.why_not  # "no NVIDIA driver", "NVMLError_LibraryNotFound: ..."


def test_the_sampler_carries_the_injected_readings() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        devices = [reading(0, 2, 30, 50, processes=((child.pid, 3e9),))]
        sampler = Sampler(root_pid=child.pid, gpus=lambda: devices)
        values = sampler.sample()
        assert values["gpu_util_percent"] == 2
        assert values["proc_gpu_mem_gb"] == pytest.approx(3)
        assert values["proc_count"] == 1
        sampler.root_pid = None  # as the supervisor does once the training exited
        assert sampler.sample()["proc_gpu_mem_gb"] == 0
        assert "gpu_count" not in Sampler(gpus=list).sample()
    finally:
        child.kill()
        child.wait()
