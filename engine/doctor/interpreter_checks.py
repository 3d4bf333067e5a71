"""Checks of the training interpreter: Python, package versions and known-bad combinations,
torch with CUDA or MPS and the MPS environment settings. Pure: facts in, findings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.doctor.facts import Facts, Finding, release
from engine.model import Severity

INFO, WARNING, CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL

TRAINING_PACKAGES = ("torch", "accelerate", "transformers", "hivemind", "genrl", "gensyn-genrl")


def python_check(facts: Facts) -> Iterator[Finding]:
    py = facts.python
    if not py.ok:
        yield Finding(
            "python",
            CRITICAL,
            f"could not inspect {py.path}: {py.error}",
            "point --python at the interpreter the training runs with (e.g. .venv/bin/python)",
        )
        return
    if (release(py.version) or (3, 10)) < (3, 10):
        yield Finding(
            "python",
            CRITICAL,
            f"Python {py.version}: RL-Swarm and genrl need Python 3.10 or newer",
            "create the environment with Python 3.10+: python3.11 -m venv .venv",
        )
    if not any(py.packages.get(name) for name in TRAINING_PACKAGES):
        yield Finding(
            "packages",
            INFO,
            f"none of {', '.join(TRAINING_PACKAGES)} is installed in {py.path}",
            "if this is not the node's environment, pass --python PATH "
            "(run_rl_swarm.sh installs the packages at its first start)",
        )


def accelerate_empty_loader(facts: Facts) -> Iterator[Finding]:
    version = facts.python.packages.get("accelerate")
    if (1, 6, 0) <= (release(version) or ()) <= (1, 8, 1):
        yield Finding(
            "accelerate-empty-loader",
            WARNING,
            f"accelerate {version} crashes with UnboundLocalError 'current_batch' when a data "
            "loader yields no batch in an epoch (1.6.0 to 1.8.1; fixed in 1.9.0)",
            "start the node with `rlswarm-rules run -- ./run_rl_swarm.sh` (fixes it in-process), "
            "or: pip install 'accelerate>=1.9'",
        )


def accelerate_unsloth(facts: Facts) -> Iterator[Finding]:
    """`NameError: name 'is_torch_version' is not defined` in `Accelerator.prepare`.

    Seen in gensyn-ai/rl-swarm#348 (hivemind_exp GPU nodes load unsloth,
    `hivemind_exp/runner/grpo_runner.py`), huggingface/accelerate#3641 and
    unslothai/unsloth#2775: accelerate 1.8.0 added an `is_torch_version` call to
    `Accelerator.prepare`; unsloth re-executes that method's source in a namespace
    without the name. Downgrading to accelerate 1.7.0 fixed it there, and
    rl-swarm pinned `accelerate==1.7.0` in requirements-gpu.txt. Reports name
    accelerate 1.8.0 with unsloth 2025.6.2 and the gensyn-ai unsloth fork; 1.8.1
    and 1.9.0 still make the call; whether a later unsloth copes is unconfirmed.
    """
    py = facts.python
    accelerate, unsloth = py.packages.get("accelerate"), py.packages.get("unsloth")
    rel = release(accelerate) or ()
    calls = py.prepare_calls_is_torch_version
    if not unsloth or rel < (1, 8) or calls is False:
        return
    confirmed = rel < (1, 9)
    zoo = py.packages.get("unsloth-zoo") or "-"
    yield Finding(
        "accelerate-unsloth",
        CRITICAL if confirmed else WARNING,
        f"accelerate {accelerate} with unsloth {unsloth} (unsloth-zoo {zoo}): "
        "training stops with NameError: name 'is_torch_version' is not defined "
        + (
            "(reported for accelerate 1.8.x in rl-swarm#348, accelerate#3641)"
            if confirmed
            else "(seen with 1.8.x; this accelerate still calls it, unconfirmed for it)"
        ),
        "pip install 'accelerate==1.7.0' (RL-Swarm's GPU pin), or start the node without "
        "unsloth: RL_SWARM_UNSLOTH=False ./run_rl_swarm.sh",
    )


def torch_check(facts: Facts) -> Iterator[Finding]:
    torch = facts.python.torch
    if torch.status == "error":
        yield Finding(
            "torch",
            CRITICAL,
            f"import torch fails: {torch.error}",
            "pip install --force-reinstall torch",
        )
    elif torch.status == "timeout":
        yield Finding(
            "torch",
            INFO,
            "torch took too long to import: CUDA and MPS were not checked",
            "run doctor again (the second import is faster once files are cached)",
        )


def cuda_check(facts: Facts) -> Iterator[Finding]:
    torch, nvidia = facts.python.torch, facts.nvidia
    if nvidia is not None and not nvidia.ok:
        yield Finding(
            "cuda",
            WARNING,
            f"nvidia-smi fails ({nvidia.error}): the NVIDIA driver is not working",
            "reinstall the NVIDIA driver, or reboot after a driver update",
        )
    if torch.status != "ok":
        return
    if torch.cuda_available:
        yield Finding("cuda", INFO, "CUDA available: " + ", ".join(torch.cuda_devices))
        return
    if nvidia is None or not nvidia.gpus:
        return
    gpus = ", ".join(nvidia.gpus)
    visible = facts.env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        yield Finding("cuda", INFO, f"{gpus} hidden from torch by CUDA_VISIBLE_DEVICES={visible!r}")
    elif facts.env.get("CPU_ONLY"):
        yield Finding("cuda", INFO, f"CPU_ONLY is set: the node leaves {gpus} unused")
    elif torch.cuda_build is None:
        yield Finding(
            "cuda",
            WARNING,
            f"torch {torch.version} is a CPU build but this machine has {gpus}: "
            "the node trains on the CPU",
            "install a CUDA build matching `nvidia-smi`'s 'CUDA Version', e.g. "
            "pip install --force-reinstall torch --index-url https://download.pytorch.org/whl/cu128",
        )
    else:
        yield Finding(
            "cuda",
            WARNING,
            f"torch {torch.version} (built for CUDA {torch.cuda_build}) cannot use {gpus}: "
            "the driver is probably older than that CUDA version",
            "update the NVIDIA driver, or install a torch build for the CUDA version "
            "`nvidia-smi` shows (https://pytorch.org/get-started/locally/)",
        )


def _apple(facts: Facts) -> bool:
    return facts.python.system == "Darwin" or facts.python.torch.mps_built


def mps_check(facts: Facts) -> Iterator[Finding]:
    py, torch = facts.python, facts.python.torch
    if not _apple(facts):
        return
    if torch.status == "ok" and torch.mps_available:
        yield Finding("mps", INFO, "MPS (Apple GPU) available")
        if facts.env.get("PYTORCH_ENABLE_MPS_FALLBACK") != "1":
            yield Finding(
                "mps-env",
                WARNING,
                "PYTORCH_ENABLE_MPS_FALLBACK is not 1: an operation MPS lacks stops "
                "training with NotImplementedError instead of running on the CPU",
                "export PYTORCH_ENABLE_MPS_FALLBACK=1",
            )
    elif torch.status == "ok" and py.system == "Darwin":
        apple_silicon = py.machine == "arm64"
        yield Finding(
            "mps",
            WARNING if apple_silicon else INFO,
            f"torch {torch.version} cannot use MPS (Apple GPU) from this {py.machine} Python: "
            "the node trains on the CPU",
            "pip install -U torch (MPS needs macOS 12.3+)"
            if apple_silicon
            else "on Apple silicon, recreate the environment with an arm64 Python "
            "(python3 -c 'import platform; print(platform.machine())' must print arm64)",
        )


_LEADING_FLOAT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _strtod(text: str) -> float:
    """Read a number as torch's MPS allocator does (C strtod: leading number, else 0.0)."""
    m = _LEADING_FLOAT.match(text)
    return float(m.group()) if m else 0.0


def mps_watermarks(facts: Facts) -> Iterator[Finding]:
    """PYTORCH_MPS_{HIGH,LOW}_WATERMARK_RATIO as torch's MPSAllocator.mm checks them."""
    high_s = facts.env.get("PYTORCH_MPS_HIGH_WATERMARK_RATIO")
    low_s = facts.env.get("PYTORCH_MPS_LOW_WATERMARK_RATIO")
    if not _apple(facts) or (high_s is None and low_s is None):
        return
    high = 1.7 if high_s is None else _strtod(high_s)
    unified = facts.python.machine in ("arm64", "aarch64")
    low = (1.4 if unified else 1.0) if low_s is None else _strtod(low_s)
    if not 0.0 <= high <= 2.0:
        yield Finding(
            "mps-env",
            CRITICAL,
            f"PYTORCH_MPS_HIGH_WATERMARK_RATIO={high_s}: torch stops at the first MPS "
            f"allocation with 'invalid high watermark ratio {high:g}' (allowed 0.0 to 2.0)",
            "export PYTORCH_MPS_HIGH_WATERMARK_RATIO=1.0 (or unset it)",
        )
        return
    limit = 2.0 if high == 0.0 else high
    if not 0.0 <= low <= limit:
        origin = "the default low ratio" if low_s is None else "PYTORCH_MPS_LOW_WATERMARK_RATIO"
        yield Finding(
            "mps-env",
            CRITICAL,
            f"{origin} {low:g} is not between 0 and {limit:g} (the high ratio): torch stops "
            f"at the first MPS allocation with 'invalid low watermark ratio {low:g}'",
            f"export PYTORCH_MPS_LOW_WATERMARK_RATIO={min(limit, 1.0):g}, "
            "or unset PYTORCH_MPS_HIGH_WATERMARK_RATIO and PYTORCH_MPS_LOW_WATERMARK_RATIO",
        )
    if high_s is not None and high == 0.0:
        read = "" if _LEADING_FLOAT.match(high_s) else " (not a number: torch reads 0)"
        yield Finding(
            "mps-env",
            WARNING,
            f"PYTORCH_MPS_HIGH_WATERMARK_RATIO={high_s}{read} removes MPS's memory limit: "
            "instead of a clean 'MPS backend out of memory' error the Mac swaps hard or freezes",
            "unset PYTORCH_MPS_HIGH_WATERMARK_RATIO (default 1.7), or use a smaller model",
        )


def mps_env_wanted(facts: Facts) -> dict[str, str | None]:
    """The MPS settings that would clear the `mps-env` findings: a value to set, or None to
    unset a variable (torch's defaults are then used)."""
    if not _apple(facts):
        return {}
    torch, env = facts.python.torch, facts.env
    wanted: dict[str, str | None] = {}
    if torch.status == "ok" and torch.mps_available and env.get(FALLBACK) != "1":
        wanted[FALLBACK] = "1"
    if any(mps_watermarks(facts)):  # a ratio torch rejects, or no limit: torch's defaults
        wanted.update({name: None for name in (HIGH, LOW) if name in env})
    return wanted


FALLBACK = "PYTORCH_ENABLE_MPS_FALLBACK"
HIGH = "PYTORCH_MPS_HIGH_WATERMARK_RATIO"
LOW = "PYTORCH_MPS_LOW_WATERMARK_RATIO"
