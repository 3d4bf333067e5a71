"""The doctor's vocabulary: the facts collected about a machine, and the findings drawn from them.

Collectors (`collect`, `hosts`) fill these; the checks (`checks`) read them
and never touch the machine, so every finding can be tested from values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.model import Severity

GIB = 1024**3

DEFAULT_HOSTS = ("huggingface.co:443", "gensyn-testnet.g.alchemy.com:443", "pypi.org:443")
"""Model downloads, the Gensyn testnet RPC, package installs (`--hosts` replaces them)."""

PACKAGES = (
    "torch",
    "accelerate",
    "transformers",
    "trl",
    "peft",
    "hivemind",
    "genrl",
    "gensyn-genrl",
    "unsloth",
    "unsloth-zoo",
    "huggingface-hub",
)
"""Looked up in the training interpreter (distribution names)."""

ENV_VARS = (
    "PYTORCH_ENABLE_MPS_FALLBACK",
    "PYTORCH_MPS_HIGH_WATERMARK_RATIO",
    "PYTORCH_MPS_LOW_WATERMARK_RATIO",
    "CUDA_VISIBLE_DEVICES",
    "CPU_ONLY",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)
"""Environment variables the checks read (the training inherits doctor's environment)."""


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str
    fix: str = ""


@dataclass(frozen=True)
class TorchFacts:
    """What importing torch in the training interpreter showed."""

    status: str  # "ok", "error" (import failed), "timeout", "skipped" (not asked for)
    version: str = ""
    error: str = ""
    import_seconds: float | None = None
    cuda_build: str | None = None  # the CUDA version torch was built for; None: a CPU build
    cuda_available: bool = False
    cuda_devices: tuple[str, ...] = ()
    mps_built: bool = False
    mps_available: bool = False


@dataclass(frozen=True)
class PythonFacts:
    """The training interpreter, from `probe_env.py` run inside it."""

    path: str
    ok: bool = True
    error: str = ""  # why the probe gave no answer
    version: str = ""
    system: str = ""
    machine: str = ""
    packages: Mapping[str, str | None] = field(default_factory=dict)
    prepare_calls_is_torch_version: bool | None = None
    torch: TorchFacts = TorchFacts(status="skipped")


@dataclass(frozen=True)
class Memory:
    total: int
    available: int
    swap_total: int
    swap_used: int


@dataclass(frozen=True)
class Disk:
    path: str
    free: int
    total: int


@dataclass(frozen=True)
class CacheSize:
    path: str
    exists: bool
    size: int = 0
    complete: bool = True  # False when the walk ran out of time: size is a lower bound


@dataclass(frozen=True)
class Nvidia:
    """`nvidia-smi`, when present on PATH."""

    ok: bool
    gpus: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class Script:
    path: str
    executable: bool
    crlf: bool = False


@dataclass(frozen=True)
class Host:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class HostResult:
    target: Host
    ok: bool
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class Facts:
    python: PythonFacts
    system: str = ""  # platform.system() of this machine
    env: Mapping[str, str] = field(default_factory=dict)
    memory: Memory | None = None
    disks: Sequence[Disk] = ()
    hf_cache: Sequence[CacheSize] = ()
    nvidia: Nvidia | None = None  # None: no nvidia-smi on PATH
    scripts: Sequence[Script] = ()
    hosts: Sequence[HostResult] = ()
    host_timeout: float = 3.0


@dataclass(frozen=True)
class Report:
    python: PythonFacts
    findings: Sequence[Finding]

    @property
    def critical(self) -> bool:
        """Anything critical: `doctor` exits 1."""
        return any(f.severity is Severity.CRITICAL for f in self.findings)


_HOST = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>\d+))?$")


def parse_host(text: str, default_port: int = 443) -> Host:
    """`HOST`, `HOST:PORT` or `[IPv6]:PORT`; ValueError with the expected form otherwise."""
    m = _HOST.match(text.strip())
    port = int(m["port"]) if m and m["port"] else default_port
    if not m or not 0 < port < 65536:
        raise ValueError(f"'{text}' is not HOST or HOST:PORT (e.g. huggingface.co:443)")
    return Host(m["v6"] or m["name"], port)


def release(version: str | None) -> tuple[int, ...] | None:
    """The leading numeric release of a version string: '2.13.0+cpu' -> (2, 13, 0)."""
    m = re.match(r"\d+(?:\.\d+)*", version or "")
    return tuple(int(p) for p in m.group().split(".")) if m else None


def gib(n: float) -> str:
    """A size for people: `23.5 GiB`, or `120 MiB` below a GiB."""
    return f"{n / GIB:.1f} GiB" if n >= GIB else f"{n / 1024**2:.0f} MiB"
