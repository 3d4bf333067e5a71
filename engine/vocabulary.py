"""The fixed names rules may use: sampled metrics, events and their fields, template names.

Lint checks every name in an expression or template against these tables
(plus the signals defined in the packs and the captures of the rule).

May import: nothing of engine
"""

from __future__ import annotations

from collections.abc import Mapping

GPU_DEVICES = 8
"""NVIDIA GPUs (by NVML index) with metric names of their own (`gpu0_util_percent` ...);
the others count only in the names across devices (`gpu_util_percent` ...)."""

METRICS: Mapping[str, str] = {
    # host
    "cpu_percent": "host CPU use, percent of all cores",
    "mem_percent": "host memory in use, percent",
    "mem_available_gb": "host memory available, GB",
    "swap_percent": "swap in use, percent",
    "disk_free_gb": "free space on the working directory's file system, GB",
    "disk_percent": "space used on the working directory's file system, percent",
    "load1": "1-minute load average",
    "mem_pressure_percent": "macOS memory pressure, percent (100 - kern.memorystatus_level); "
    "absent on other systems",
    # supervised process tree
    "proc_cpu_percent": "CPU of the supervised process tree, percent of one core",
    "proc_rss_gb": "resident memory of the supervised process tree, GB",
    "proc_count": "processes in the supervised tree",
    "proc_open_files": "open files of the supervised tree",
    # accelerators, where present
    "gpu_mem_gb": "CUDA memory allocated by the training, GB",
    "gpu_mem_percent": "CUDA memory allocated, percent of the device",
    "mps_mem_gb": "Apple MPS memory allocated by the training, GB",
    # NVIDIA GPUs as NVML sees them (every process on the device), where there are any
    "gpu_count": "NVIDIA GPUs NVML can read",
    "gpu_util_percent": "the busiest GPU's utilisation, percent (below 5: every GPU idle)",
    "gpu_mem_used_gb": "the fullest GPU's memory in use by all processes, GB",
    "gpu_mem_used_percent": "the fullest GPU's memory in use by all processes, percent",
    "gpu_temp_c": "the hottest GPU's temperature, degrees Celsius",
    "proc_gpu_mem_gb": "GPU memory the supervised process tree holds on all GPUs, GB "
    "(0 when no training runs)",
    **{
        f"gpu{n}_{name}": f"GPU {n}: {meaning}"
        for n in range(GPU_DEVICES)
        for name, meaning in (
            ("util_percent", "utilisation, percent"),
            ("mem_used_gb", "memory in use by all processes, GB"),
            ("mem_used_percent", "memory in use by all processes, percent"),
            ("temp_c", "temperature, degrees Celsius"),
        )
    },
    # training
    "seconds_since_activity": "seconds since the last output line, redraw or heartbeat",
    "restarts": "restarts of the training so far",
    "uptime_s": "seconds since the training (re)started",
}

EVENTS: Mapping[str, tuple[str, ...]] = {
    "start": ("pid", "command", "attempt"),
    "exit": (
        "code",
        "signal",
        "runtime_s",
        "peak_rss_gb",
        "requested",
        "last_lines",
        "trainer",
        "trainer_code",
        "error",
    ),
    "restart": ("attempt", "delay_s", "cause"),
    "gave_up": ("restarts", "within_s"),
    "prompt_loop": ("question", "answer", "option"),
    "patched": ("fix", "library", "version", "applied"),
    "heartbeat": ("batches",),
    "exception": ("type", "message", "traceback", "frames", "last_frame", "cut_off", "source"),
}

COMMON_TEMPLATE_NAMES: tuple[str, ...] = ("rule", "severity", "host", "project", "time")
LOG_TEMPLATE_NAMES: tuple[str, ...] = ("line", "source", "line_no")
ABSENT_TEMPLATE_NAMES: tuple[str, ...] = ("silent_s", "silent_for")
ACTIVITY = "activity"
"""The built-in signal an `absent` rule may name: any output line, redraw or heartbeat."""

EXPRESSION_FUNCTIONS: tuple[str, ...] = ("abs", "min", "max", "float", "int", "matches")
